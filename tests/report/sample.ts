/** Shared test values of the report tests. @module */
import { summarize, type Summary } from "../../src/report/summary.ts";

const T0 = Date.parse("2025-10-11T03:00:00.000Z");

/** A small summary with every part filled, and a customer id that needs escaping. */
export function sampleSummary(): Summary {
  return summarize({
    source: {
      kind: "topics",
      predictions: "telco.churn.predictions",
      deadletter: "telco.churn.deadletter",
      since: null,
      until: null,
    },
    predictions: [
      {
        customerID: "7760-OYPDY",
        churn_probability: 0.71,
        prediction: "Yes",
        brokerTimestampMs: T0,
        event_ts: new Date(T0 - 9).toISOString(),
        inference_latency_ms: 0.02,
      },
      {
        customerID: "<b>x</b>&|",
        churn_probability: 0.12,
        prediction: "No",
        brokerTimestampMs: T0 + 5000,
        inference_latency_ms: 0.03,
      },
      { customerID: "1111-AAAAA", churn_probability: 0.33, prediction: "No", brokerTimestampMs: T0 + 9000 },
    ],
    deadLetters: [{ reason: "invalid_json", timestampMs: T0 + 1000 }, {
      reason: "missing_field",
      timestampMs: T0 + 2000,
    }],
    lag: { group: "g", state: "Stable", members: 1, topic: "telco.raw.customers", totalLag: 4, partitions: [] },
    nowMs: T0 + 10_000,
  });
}
