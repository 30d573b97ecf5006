/**
 * The scoring module against the committed model: golden parity with
 * scikit-learn, every rejection reason, batch order, card mismatches, and
 * loading from outside the repository.
 *
 * Permissions: --allow-read --allow-env --allow-ffi --allow-sys --allow-run.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ModelError } from "../../src/errors.ts";
import type { ModelCard } from "../../src/model/card.ts";
import { CANARY_RECORD, checkModel, DEFAULT_MODEL_URL, loadScorer, type ScoreOutcome } from "../../src/model/scorer.ts";

const GOLDEN_URL = new URL("../fixtures/golden_scores.json", import.meta.url);
const CARD_URL = new URL("../../models/churn.model.json", import.meta.url);

interface Golden {
  model_version: string;
  threshold: number;
  tolerance: number;
  rows: { record: Record<string, unknown>; churn_probability: number }[];
}

const golden: Golden = JSON.parse(await Deno.readTextFile(GOLDEN_URL));
const card: ModelCard = JSON.parse(await Deno.readTextFile(CARD_URL));

function valid(): Record<string, unknown> {
  return { ...CANARY_RECORD };
}

function isModelError(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof ModelError, `expected ModelError, got ${error}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), "message must be one line");
    return true;
  };
}

Deno.test("scorer", async (t) => {
  const scorer = await loadScorer();
  try {
    await t.step("scorer reproduces the scikit-learn golden probabilities within 1e-4", async () => {
      assert.equal(golden.rows.length, 200);
      assert.equal(golden.model_version, scorer.version, "golden file is for another model: run deno task train");
      const { results } = await scorer.score(golden.rows.map((r) => r.record));
      let maxDiff = 0;
      for (const [i, result] of results.entries()) {
        assert.ok(result.ok, `row ${i} rejected: ${!result.ok && result.message}`);
        maxDiff = Math.max(maxDiff, Math.abs(result.churn_probability - golden.rows[i].churn_probability));
      }
      console.log(`golden max |onnxruntime-node - sklearn| = ${maxDiff.toExponential(3)}`);
      assert.ok(maxDiff <= 1e-4, `max diff ${maxDiff}`);
    });

    await t.step("scorer exposes the card's version and threshold", () => {
      assert.equal(scorer.version, card.version);
      assert.equal(scorer.threshold, card.threshold.value);
      assert.equal(scorer.card.selection.winner, card.selection.winner);
    });

    await t.step("scorer predicts at the card threshold and defines confidence from it", async () => {
      const { results } = await scorer.score(golden.rows.map((r) => r.record));
      const t0 = scorer.threshold;
      for (const result of results) {
        assert.ok(result.ok);
        const p = result.churn_probability;
        assert.equal(result.prediction, p >= t0 ? "Yes" : "No");
        assert.ok(result.confidence_score >= 0 && result.confidence_score <= 1);
        const expected = p >= t0 ? (p - t0) / (1 - t0) : (t0 - p) / t0;
        assert.ok(Math.abs(result.confidence_score - expected) < 1e-12);
        assert.equal(result.model_version, scorer.version);
      }
      assert.ok(results.some((r) => r.ok && r.prediction === "Yes"));
      assert.ok(results.some((r) => r.ok && r.prediction === "No"));
    });

    await t.step("scorer imputes a null TotalCharges instead of rejecting it", async () => {
      const { results } = await scorer.score([{ ...valid(), tenure: 0, TotalCharges: null }]);
      assert.equal(results[0].ok, true);
    });

    const cases: [string, unknown, string, string?][] = [
      ["null record", null, "not_an_object"],
      ["array record", [1, 2], "not_an_object"],
      ["number record", 42, "not_an_object"],
      ["missing tenure", (({ tenure: _, ...rest }) => rest)(valid()), "missing_field", "tenure"],
      ["missing Contract", (({ Contract: _, ...rest }) => rest)(valid()), "missing_field", "Contract"],
      ["tenure as a string", { ...valid(), tenure: "12" }, "wrong_type", "tenure"],
      ["blank TotalCharges string", { ...valid(), TotalCharges: " " }, "wrong_type", "TotalCharges"],
      ["gender as a number", { ...valid(), gender: 1 }, "wrong_type", "gender"],
      ["gender null", { ...valid(), gender: null }, "wrong_type", "gender"],
      ["unknown Contract", { ...valid(), Contract: "Monthly" }, "unknown_category", "Contract"],
      ["lower-case category", { ...valid(), Partner: "yes" }, "unknown_category", "Partner"],
      ["SeniorCitizen 2", { ...valid(), SeniorCitizen: 2 }, "out_of_range", "SeniorCitizen"],
      ["negative tenure", { ...valid(), tenure: -1 }, "out_of_range", "tenure"],
      ["infinite MonthlyCharges", { ...valid(), MonthlyCharges: Infinity }, "out_of_range", "MonthlyCharges"],
      ["null tenure", { ...valid(), tenure: null }, "not_a_number", "tenure"],
      ["NaN MonthlyCharges", { ...valid(), MonthlyCharges: NaN }, "not_a_number", "MonthlyCharges"],
    ];
    for (const [name, record, reason, field] of cases) {
      await t.step(`scorer rejects ${name} as ${reason}`, async () => {
        const { results, inferenceMs } = await scorer.score([record]);
        const [result] = results;
        assert.equal(result.ok, false);
        assert.ok(!result.ok);
        assert.equal(result.reason, reason);
        assert.equal(result.field, field);
        assert.ok(result.message.length > 0 && !result.message.includes("\n"));
        assert.equal(inferenceMs, 0, "no onnxruntime call for a batch with nothing valid");
      });
    }

    await t.step("scorer keeps input order in a batch of mixed valid and invalid records", async () => {
      const records = golden.rows.slice(0, 10).map((r) => r.record);
      const batch: unknown[] = [
        records[0],
        { ...records[1], tenure: "x" },
        records[2],
        null,
        records[3],
        { ...records[4], Contract: "Weekly" },
        records[5],
      ];
      const { results, inferenceMs } = await scorer.score(batch);
      assert.equal(results.length, batch.length);
      const shape = results.map((r: ScoreOutcome) => r.ok ? "ok" : r.reason);
      assert.deepEqual(shape, ["ok", "wrong_type", "ok", "not_an_object", "ok", "unknown_category", "ok"]);
      for (const [slot, row] of [[0, 0], [2, 2], [4, 3], [6, 5]]) {
        const r = results[slot];
        assert.ok(r.ok);
        assert.ok(Math.abs(r.churn_probability - golden.rows[row].churn_probability) <= 1e-4);
      }
      assert.ok(inferenceMs > 0);
    });

    await t.step("scorer returns an empty result for an empty batch", async () => {
      assert.deepEqual(await scorer.score([]), { results: [], inferenceMs: 0 });
    });

    await t.step("scorer gives the same answers to overlapping calls of different sizes", async () => {
      const all = golden.rows.map((r) => r.record);
      const [a, b, c] = await Promise.all([
        scorer.score(all),
        scorer.score(all.slice(0, 3)),
        scorer.score(all.concat(all, all, all, all, all)),
      ]);
      for (const [i, r] of b.results.entries()) assert.deepEqual(r, a.results[i]);
      for (const [i, r] of c.results.entries()) assert.deepEqual(r, a.results[i % all.length]);
    });
  } finally {
    await scorer.close();
  }
});

Deno.test("loadScorer", async (t) => {
  const mutate = (change: (c: ModelCard) => void): ModelCard => {
    const copy = structuredClone(card);
    change(copy);
    return copy;
  };

  await t.step("loadScorer fails on a card whose input names differ from the graph", async () => {
    const bad = mutate((c) => (c.inputs[0].name = "sex"));
    await assert.rejects(loadScorer({ card: bad }), isModelError(/does not match its card.*card-only inputs: sex/));
  });

  await t.step("loadScorer fails on a card whose input types differ from the graph", async () => {
    const bad = mutate((c) => {
      c.inputs[0] = { name: "gender", kind: "numeric", type: "float32", min: null, max: null, nan_allowed: false };
    });
    await assert.rejects(
      loadScorer({ card: bad }),
      isModelError(/input gender is string in the graph, float32 in the card/),
    );
  });

  await t.step("loadScorer fails on a card written for other model bytes", async () => {
    const bad = mutate((c) => (c.version = "sha256:000000000000"));
    await assert.rejects(loadScorer({ card: bad }), isModelError(/describes sha256:000000000000/));
  });

  await t.step("loadScorer fails on a malformed card", async () => {
    const bad = mutate((c) => (c.threshold.value = 2));
    await assert.rejects(loadScorer({ card: bad }), isModelError(/threshold\.value/));
  });

  await t.step("loadScorer names a missing model file", async () => {
    await assert.rejects(
      loadScorer({ modelPath: "/nonexistent/dir/churn.onnx" }),
      isModelError(/^model \/nonexistent\/dir\/churn\.onnx: not found$/),
    );
  });

  await t.step("loadScorer names a missing card", async () => {
    await assert.rejects(
      loadScorer({ cardPath: "/nonexistent/churn.model.json" }),
      isModelError(/model card \/nonexistent\/churn\.model\.json: not found/),
    );
  });

  await t.step("loadScorer refuses a file that is not the model its card describes", async () => {
    // The golden JSON stands in for a corrupt or swapped model file.
    await assert.rejects(
      loadScorer({ modelPath: fileURLToPath(GOLDEN_URL), cardPath: CARD_URL }),
      isModelError(/golden_scores\.json is sha256:[0-9a-f]{12} but its card/),
    );
  });

  await t.step("loadScorer finds the bundled model from a working directory outside the repo", async () => {
    const code = `
      import { checkModel } from ${JSON.stringify(new URL("../../src/model/scorer.ts", import.meta.url).href)};
      console.log(JSON.stringify(await checkModel()));
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", fileURLToPath(new URL("../../deno.json", import.meta.url)), code],
      cwd: "/tmp",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const result = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.equal(result.ok, true, result.detail);
    assert.equal(result.version, card.version);
  });
});

Deno.test("checkModel", async (t) => {
  await t.step("checkModel reports the bundled model healthy with its version", async () => {
    const result = await checkModel();
    assert.equal(result.ok, true, result.detail);
    assert.equal(result.version, card.version);
    assert.match(result.detail, /canary scored 0\.\d{4} \((Yes|No)\)/);
    assert.ok(result.latencyMs >= 0);
  });

  await t.step("checkModel reports a missing model as unhealthy without throwing", async () => {
    const result = await checkModel({ modelPath: "/nonexistent/churn.onnx" });
    assert.equal(result.ok, false);
    assert.equal(result.version, undefined);
    assert.match(result.detail, /\/nonexistent\/churn\.onnx: not found/);
  });

  await t.step("checkModel uses the module-relative default path", () => {
    assert.ok(DEFAULT_MODEL_URL.href.endsWith("/models/churn.onnx"));
  });
});
