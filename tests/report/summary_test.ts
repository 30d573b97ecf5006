import assert from "node:assert/strict";
import {
  countDuplicates,
  endToEndMs,
  percentiles,
  type PredictionRecord,
  probabilityHistogram,
  summarize,
  timeline,
  topAtRisk,
} from "../../src/report/summary.ts";

const T0 = Date.parse("2025-10-11T03:00:00.000Z");

function prediction(id: string, probability: number, offsetMs: number, extra: Partial<PredictionRecord> = {}) {
  return {
    customerID: id,
    churn_probability: probability,
    prediction: probability >= 0.52 ? "Yes" : "No",
    event_ts: new Date(T0 + offsetMs - 20).toISOString(),
    inference_latency_ms: probability,
    brokerTimestampMs: T0 + offsetMs,
    model_version: "sha256:abc",
    ...extra,
  };
}

Deno.test("summary", async (t) => {
  await t.step("summary percentiles are nearest-rank", () => {
    const values = Array.from({ length: 100 }, (_, index) => index + 1);
    assert.deepEqual(percentiles(values), { count: 100, p50: 50, p95: 95, p99: 99, mean: 50.5, max: 100 });
    assert.deepEqual(percentiles([7]), { count: 1, p50: 7, p95: 7, p99: 7, mean: 7, max: 7 });
    assert.equal(percentiles([]), null);
  });

  await t.step("summary histogram has ten bins, 1 in the last, churn counted per bin", () => {
    const bins = probabilityHistogram([0, 0.05, 0.1, 0.55, 0.51, 1], ["No", "No", "No", "Yes", "No", "Yes"]);
    assert.equal(bins.length, 10);
    assert.deepEqual(bins.map((bin) => bin.count), [2, 1, 0, 0, 0, 2, 0, 0, 0, 1]);
    assert.equal(bins[5].churn, 1);
    assert.equal(bins[9].churn, 1);
    assert.equal(probabilityHistogram([0.3])[3].churn, undefined);
  });

  await t.step("summary top at risk lists each customer once, highest first", () => {
    const top = topAtRisk([
      prediction("A", 0.9, 0),
      prediction("B", 0.95, 1),
      prediction("A", 0.97, 2),
      prediction("C", 0.1, 3),
    ], 2);
    assert.deepEqual(top.map((item) => [item.customerID, item.churn_probability, item.predictions]), [
      ["A", 0.97, 2],
      ["B", 0.95, 1],
    ]);
  });

  await t.step("summary end-to-end is event time to the prediction's broker timestamp", () => {
    assert.equal(endToEndMs(prediction("A", 0.5, 1000)), 20);
    assert.equal(endToEndMs({ customerID: "A", churn_probability: 0.5, prediction: "No" }), undefined);
  });

  await t.step("summary timeline picks a bucket width giving at most 60 points", () => {
    const points = timeline(
      [prediction("A", 0.9, 0), prediction("B", 0.1, 30_000), prediction("C", 0.2, 119_000)],
      [{ reason: "invalid_json", timestampMs: T0 + 61_000 }],
    );
    assert.equal(points.bucket_seconds, 2);
    assert.equal(points.points.length, 60);
    assert.equal(points.points.reduce((sum, point) => sum + point.predictions, 0), 3);
    assert.equal(points.points[0].churn, 1);
    assert.equal(points.points[30].dead_letters, 1);
  });

  await t.step("summary counts duplicates by event id", () => {
    assert.equal(
      countDuplicates([
        prediction("A", 0.1, 0, { event_id: "e1" }),
        prediction("A", 0.1, 1, { event_id: "e1" }),
        prediction("B", 0.1, 2, { event_id: "e2" }),
        prediction("C", 0.1, 3),
      ]),
      1,
    );
  });

  await t.step("summary computes every figure of a known set", () => {
    const predictions = [
      prediction("A", 0.9, 0),
      prediction("B", 0.2, 1000),
      prediction("C", 0.6, 2000),
      prediction("D", 0.1, 3000),
    ];
    const summary = summarize({
      source: { kind: "topics", predictions: "p", deadletter: "d", since: null, until: null },
      predictions,
      deadLetters: [{ reason: "invalid_json", timestampMs: T0 + 500 }, { reason: "missing_field" }, {
        reason: "invalid_json",
      }],
      top: 2,
      nowMs: T0,
    });
    assert.equal(summary.messages, 7);
    assert.equal(summary.predictions, 4);
    assert.equal(summary.dead_letters, 3);
    assert.equal(summary.customers, 4);
    assert.deepEqual(summary.churn, { yes: 2, no: 2, rate: 0.5 });
    assert.equal(summary.probability.mean, 0.45);
    assert.equal(summary.probability.lowest_churn, 0.6);
    assert.deepEqual(summary.top.map((item) => item.customerID), ["A", "C"]);
    assert.deepEqual(summary.dead_letter_reasons, [{ reason: "invalid_json", count: 2 }, {
      reason: "missing_field",
      count: 1,
    }]);
    assert.equal(summary.latency_ms.inference?.p50, 0.2);
    assert.equal(summary.latency_ms.end_to_end?.p99, 20);
    assert.equal(summary.window.seconds, 3);
    assert.equal(summary.throughput_per_s, 1.333333);
    assert.equal(summary.generated_at, "2025-10-11T03:00:00.000Z");
  });

  await t.step("summary of nothing has nulls, not NaN", () => {
    const summary = summarize({
      source: { kind: "topics", predictions: "p", deadletter: "d", since: null, until: null },
      predictions: [],
      deadLetters: [],
    });
    assert.equal(summary.churn.rate, null);
    assert.equal(summary.probability.mean, null);
    assert.equal(summary.throughput_per_s, null);
    assert.equal(summary.window.first, null);
    assert.equal(JSON.stringify(summary).includes("NaN"), false);
  });
});
