import assert from "node:assert/strict";
import { MODEL_ERROR, scoreBatch } from "../../src/pipeline/score.ts";
import { FakeScorer } from "./fixtures.ts";

Deno.test("scoreBatch", async (t) => {
  const records = [{ tenure: 1 }, { tenure: 60 }, { tenure: 30 }];

  await t.step("scoreBatch makes one model call for the whole batch", async () => {
    const scorer = new FakeScorer();
    const scored = await scoreBatch(scorer, records);
    assert.equal(scorer.calls.length, 1);
    assert.equal(scored.results.length, 3);
    assert.equal(scored.results[0].ok && scored.results[0].prediction, "Yes");
  });

  await t.step("scoreBatch makes no call for an empty batch", async () => {
    const scorer = new FakeScorer();
    assert.deepEqual(await scoreBatch(scorer, []), { results: [], inferenceMs: 0 });
    assert.equal(scorer.calls.length, 0);
  });

  await t.step("scoreBatch passes model rejections through with the model's reason", async () => {
    const scorer = new FakeScorer({ reject: (record) => record.tenure === 60 ? "out_of_range" : undefined });
    const scored = await scoreBatch(scorer, records);
    assert.deepEqual(scored.results.map((result) => result.ok ? "ok" : result.reason), ["ok", "out_of_range", "ok"]);
  });

  await t.step("scoreBatch isolates a record that makes the model throw", async () => {
    const scorer = new FakeScorer({
      fail: (batch) => batch.some((record) => (record as { tenure: number }).tenure === 30),
    });
    const scored = await scoreBatch(scorer, records);
    assert.deepEqual(scored.results.map((result) => result.ok ? "ok" : result.reason), ["ok", "ok", MODEL_ERROR]);
    assert.equal(scorer.calls.length, 1 + records.length);
  });

  await t.step("scoreBatch rethrows when the model fails on every record", async () => {
    const scorer = new FakeScorer({ fail: () => true });
    await assert.rejects(scoreBatch(scorer, records), /model exploded/);
  });
});
