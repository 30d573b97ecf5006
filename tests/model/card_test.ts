/**
 * The model card loader: the committed card parses, broken ones fail with
 * one line, and the card is found beside its model.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ModelError } from "../../src/errors.ts";
import { cardPathFor, loadCard, type ModelCard, parseCard } from "../../src/model/card.ts";
import { readGraphSignature } from "../../src/model/onnx_graph.ts";

const CARD_URL = new URL("../../models/churn.model.json", import.meta.url);
const MODEL_URL = new URL("../../models/churn.onnx", import.meta.url);

Deno.test("card", async (t) => {
  const card = await loadCard(CARD_URL);

  await t.step("card loads the committed card and meets the issue's targets", () => {
    assert.match(card.version, /^sha256:[0-9a-f]{12}$/);
    assert.equal(card.inputs.length, 19);
    assert.ok(card.metrics.test.roc_auc >= 0.84, `test ROC-AUC ${card.metrics.test.roc_auc}`);
    assert.ok(card.selection.candidates[card.selection.winner].eligible);
    assert.equal(card.training_data.rows, 5634);
  });

  await t.step("card matches the graph's declared inputs and outputs", async () => {
    const signature = readGraphSignature(await Deno.readFile(MODEL_URL));
    assert.deepEqual(
      signature.inputs.map((i) => [i.name, i.type, i.shape]),
      card.inputs.map((i) => [i.name, i.kind === "categorical" ? "string" : "float", [null, 1]]),
    );
    assert.deepEqual(signature.outputs.map((o) => o.name), ["label", "probabilities"]);
  });

  await t.step("card path sits beside the model", () => {
    assert.equal(cardPathFor("models/churn.onnx"), "models/churn.model.json");
    assert.equal(cardPathFor("/x/y/m"), "/x/y/m.model.json");
    assert.equal(String(cardPathFor(new URL("file:///a/b/churn.onnx"))), "file:///a/b/churn.model.json");
  });

  const broken: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    ["a missing version", (c) => delete c.version, /version must look like sha256/],
    ["a threshold of 1", (c) => ((c.threshold as { value: number }).value = 1), /threshold\.value/],
    ["no inputs", (c) => (c.inputs = []), /inputs must be a non-empty array/],
    ["a duplicate input", (c) => (c.inputs as unknown[]).push((c.inputs as unknown[])[0]), /duplicate input gender/],
    ["an unknown input kind", (c) => ((c.inputs as { kind: string }[])[0].kind = "text"), /kind must be/],
    ["non-string category values", (c) => ((c.inputs as { values: unknown[] }[])[0].values = [1]), /values must be/],
    ["no probabilities output", (c) => (c.outputs = [{ name: "label" }]), /probabilities/],
  ];
  for (const [name, change, pattern] of broken) {
    await t.step(`card rejects ${name} with a one-line ModelError`, () => {
      const copy = structuredClone(card) as unknown as Record<string, unknown>;
      change(copy);
      assert.throws(() => parseCard(copy, "x.json"), (error: unknown) => {
        assert.ok(error instanceof ModelError);
        assert.match(error.message, /^model card x\.json: /);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }

  await t.step("card rejects a file that is not JSON", async () => {
    // The ONNX bytes are certainly not JSON.
    await assert.rejects(loadCard(MODEL_URL), /churn\.onnx: not JSON/);
  });

  await t.step("card accepts itself round-tripped through JSON", () => {
    const again: ModelCard = parseCard(JSON.parse(JSON.stringify(card)));
    assert.equal(again.version, card.version);
  });
});
