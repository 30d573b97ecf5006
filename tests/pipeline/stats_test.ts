import assert from "node:assert/strict";
import type { BatchOutcome } from "../../src/pipeline/process.ts";
import { LatencyHistogram, RunStats } from "../../src/pipeline/stats.ts";

function outcome(partial: Partial<BatchOutcome>): BatchOutcome {
  return {
    topic: "in",
    partition: 0,
    firstOffset: "0",
    lastOffset: "0",
    size: 0,
    predicted: 0,
    churned: 0,
    probabilities: new Float64Array(),
    deadLetters: new Map(),
    inferenceMs: 0,
    processMs: 0,
    timestamps: new Float64Array(),
    ...partial,
  };
}

Deno.test("stats", async (t) => {
  await t.step("LatencyHistogram percentiles are within 1 % of the exact values", () => {
    const histogram = new LatencyHistogram();
    for (let value = 1; value <= 1000; value++) histogram.record(value);
    const { p50, p95, p99, max, count } = histogram.percentiles();
    assert.equal(count, 1000);
    assert.ok(Math.abs(p50 - 500) <= 5, `p50 ${p50}`);
    assert.ok(Math.abs(p95 - 950) <= 10, `p95 ${p95}`);
    assert.ok(Math.abs(p99 - 990) <= 10, `p99 ${p99}`);
    assert.equal(max, 1000);
  });

  await t.step("LatencyHistogram of nothing is all zeros and negatives count as zero", () => {
    const histogram = new LatencyHistogram();
    assert.equal(histogram.percentiles().p99, 0);
    histogram.record(-5);
    assert.equal(histogram.percentiles().max, 0);
  });

  await t.step("RunStats adds counts, churn rate, histogram, reasons, offsets and rate", () => {
    const stats = new RunStats();
    stats.observeBatch(
      outcome({
        partition: 1,
        firstOffset: "10",
        lastOffset: "13",
        size: 4,
        predicted: 3,
        churned: 1,
        probabilities: new Float64Array([0.05, 0.55, 1]),
        deadLetters: new Map([["invalid_json", 1]]),
        inferenceMs: 3,
        timestamps: new Float64Array([900, 900, 900, 900]),
      }),
      { fetchedAt: 950, completedAt: 1000 },
    );
    stats.observeBatch(
      outcome({
        partition: 1,
        firstOffset: "14",
        lastOffset: "15",
        size: 2,
        predicted: 1,
        churned: 1,
        probabilities: new Float64Array([0.9]),
        deadLetters: new Map([["invalid_json", 1]]),
        inferenceMs: 1,
        timestamps: new Float64Array([1900, 1950]),
      }),
      { fetchedAt: 1500, completedAt: 2000 },
    );
    const snapshot = stats.snapshot();
    assert.equal(snapshot.consumed, 6);
    assert.equal(snapshot.predicted, 4);
    assert.equal(snapshot.dead_lettered, 2);
    assert.equal(snapshot.churn_rate, 0.5);
    assert.deepEqual(snapshot.probability_histogram.bins, [1, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert.deepEqual(snapshot.dead_letter_reasons, { invalid_json: 2 });
    assert.deepEqual(snapshot.partitions, [{
      topic: "in",
      partition: 1,
      first_offset: 10,
      last_offset: 15,
      messages: 6,
    }]);
    assert.equal(snapshot.busy_sec, 1.05);
    assert.equal(snapshot.messages_per_sec, Math.round(6 / 1.05));
    assert.equal(snapshot.latency_ms.end_to_end.max, 100);
    assert.equal(snapshot.latency_ms.inference.count, 4);
    assert.equal(snapshot.batches, 2);
  });
});
