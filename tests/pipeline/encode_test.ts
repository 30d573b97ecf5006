import assert from "node:assert/strict";
import { Ajv } from "ajv";
import predictionSchema from "../../src/schema/prediction.schema.json" with { type: "json" };
import deadletterSchema from "../../src/schema/deadletter.schema.json" with { type: "json" };
import { DLQ_HEADERS, encodeDeadLetter, encodePrediction } from "../../src/pipeline/encode.ts";
import type { CustomerEvent } from "../../src/schema/customer.ts";
import { inputMessage, validEvents } from "./fixtures.ts";

const context = {
  topic: "in",
  partition: 2,
  processedTs: "2026-01-01T00:00:00.000Z",
  inferenceLatencyMs: 0.02,
  batchSize: 7,
};

Deno.test("encode", async (t) => {
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const [event] = validEvents(1);
  const parsed = JSON.parse(event.value) as CustomerEvent;

  await t.step("encodePrediction writes every field, keyed by customerID, with source headers", () => {
    const record = encodePrediction(
      "out",
      parsed,
      {
        ok: true,
        churn_probability: 0.8,
        prediction: "Yes",
        confidence_score: 0.7,
        model_version: "m1",
      },
      inputMessage(42, event.value),
      context,
    );
    assert.equal(record.topic, "out");
    assert.equal(record.key, parsed.customerID);
    const value = JSON.parse(record.value as string);
    assert.deepEqual(value, {
      customerID: parsed.customerID,
      event_id: parsed.event_id,
      churn_probability: 0.8,
      prediction: "Yes",
      confidence_score: 0.7,
      model_version: "m1",
      event_ts: parsed.event_ts,
      processed_ts: context.processedTs,
      inference_latency_ms: 0.02,
      batch_size: 7,
    });
    assert.deepEqual(record.headers, { "source-topic": "in", "source-partition": "2", "source-offset": "42" });
    assert.ok(ajv.validate(predictionSchema, value), ajv.errorsText());
  });

  await t.step("encodeDeadLetter keeps key, value bytes and headers and adds the dlq headers", () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x7b]);
    const message = inputMessage(9, bytes, "cust-1", { "schema-version": "1", "dlq-reason": "stale" });
    const record = encodeDeadLetter(
      "dlq",
      message,
      { reason: "invalid_encoding", message: "bad", eventId: "e-1" },
      context,
    );
    assert.equal(record.topic, "dlq");
    assert.equal(record.value, bytes);
    assert.equal(record.key, message.key);
    const headers = record.headers!;
    assert.equal(headers["schema-version"], "1");
    assert.equal(headers[DLQ_HEADERS.reason], "invalid_encoding");
    assert.equal(headers[DLQ_HEADERS.message], "bad");
    assert.equal(headers[DLQ_HEADERS.sourceTopic], "in");
    assert.equal(headers[DLQ_HEADERS.sourcePartition], "2");
    assert.equal(headers[DLQ_HEADERS.sourceOffset], "9");
    assert.equal(headers[DLQ_HEADERS.sourceTimestamp], message.timestamp);
    assert.equal(headers[DLQ_HEADERS.eventId], "e-1");
    assert.ok(ajv.validate(deadletterSchema, { key: "cust-1", headers }), ajv.errorsText());
  });

  await t.step("encodeDeadLetter of a tombstone without an id has a null value and no event id header", () => {
    const record = encodeDeadLetter(
      "dlq",
      inputMessage(1, null, null),
      { reason: "tombstone", message: "none" },
      context,
    );
    assert.equal(record.value, null);
    assert.equal(record.key, null);
    assert.equal(record.headers![DLQ_HEADERS.eventId], undefined);
  });
});
