import assert from "node:assert/strict";
import { decodeDeadLetter, decodePrediction } from "../../src/report/messages.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("messages", async (t) => {
  await t.step("messages decode a prediction with its source position", () => {
    const record = decodePrediction({
      timestamp: 1000,
      value: bytes(JSON.stringify({
        customerID: "7760-OYPDY",
        event_id: "e1",
        churn_probability: 0.71197,
        prediction: "Yes",
        model_version: "sha256:abc",
        event_ts: "2025-10-11T03:28:23.234Z",
        processed_ts: "2025-10-11T03:28:23.300Z",
        inference_latency_ms: 0.02,
      })),
      headers: { "source-topic": "in", "source-partition": "2", "source-offset": "41" },
    });
    assert.equal(record?.churn_probability, 0.71197);
    assert.equal(record?.event_id, "e1");
    assert.equal(record?.brokerTimestampMs, 1000);
    assert.deepEqual(record?.source, { topic: "in", partition: 2, offset: 41 });
  });

  await t.step("messages refuse what is not a prediction", () => {
    for (const value of [null, bytes("nope"), bytes("[]"), bytes('{"customerID":"A"}')]) {
      assert.equal(decodePrediction({ timestamp: 0, value, headers: {} }), undefined);
    }
  });

  await t.step("messages read a dead letter's reason from its dlq headers", () => {
    const letter = decodeDeadLetter({
      timestamp: 5,
      value: bytes("\u00ff garbage"),
      headers: {
        "dlq-reason": "invalid_json",
        "dlq-source-topic": "in",
        "dlq-source-partition": "0",
        "dlq-source-offset": "7",
      },
    });
    assert.deepEqual(letter, {
      reason: "invalid_json",
      timestampMs: 5,
      source: { topic: "in", partition: 0, offset: 7 },
    });
  });

  await t.step("messages fall back to a JSON envelope, then to unknown", () => {
    assert.equal(decodeDeadLetter({ timestamp: 0, value: bytes('{"reason":"x"}'), headers: {} }).reason, "x");
    assert.equal(decodeDeadLetter({ timestamp: 0, value: null, headers: {} }).reason, "unknown");
  });
});
