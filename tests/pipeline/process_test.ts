import assert from "node:assert/strict";
import { DLQ_HEADERS } from "../../src/pipeline/encode.ts";
import { BatchProcessor } from "../../src/pipeline/process.ts";
import { FakeScorer, inputMessage, malformedCases, validEvents } from "./fixtures.ts";

const topics = { predictions: "out", deadletter: "dlq" };

Deno.test("BatchProcessor", async (t) => {
  const events = validEvents(20);
  const bad = malformedCases(events[0]);
  const messages = [
    ...events.slice(0, 10).map((event, index) => inputMessage(index, event.value, event.key)),
    ...bad.map((item, index) => inputMessage(10 + index, item.value, item.key)),
    ...events.slice(10).map((event, index) => inputMessage(10 + bad.length + index, event.value, event.key)),
  ];

  await t.step("BatchProcessor scores the valid events with one call and dead-letters the rest", async () => {
    const scorer = new FakeScorer();
    const processor = new BatchProcessor({ scorer, topics, now: () => 0 });
    const { records, outcome } = await processor.process({ topic: "in", partition: 1, messages });
    assert.equal(scorer.calls.length, 1);
    assert.equal(scorer.calls[0].length, events.length);
    const predictions = records.filter((record) => record.topic === "out");
    const deadLetters = records.filter((record) => record.topic === "dlq");
    assert.equal(predictions.length, events.length);
    assert.equal(deadLetters.length, bad.length);
    assert.deepEqual(
      predictions.map((record) => JSON.parse(record.value as string).event_id).sort(),
      events.map((event) => event.eventId).sort(),
    );
    assert.deepEqual(deadLetters.map((record) => record.headers![DLQ_HEADERS.reason]), bad.map((item) => item.reason));
    assert.deepEqual(
      deadLetters.map((record) => record.headers![DLQ_HEADERS.eventId]),
      bad.map((item) => item.eventId),
    );
    assert.equal(JSON.parse(predictions[0].value as string).batch_size, events.length);
    assert.equal(outcome.size, messages.length);
    assert.equal(outcome.predicted, events.length);
    assert.equal(outcome.firstOffset, "0");
    assert.equal(outcome.lastOffset, String(messages.length - 1));
    assert.equal([...outcome.deadLetters.values()].reduce((a, b) => a + b, 0), bad.length);
    assert.equal(outcome.probabilities.length, events.length);
  });

  await t.step("BatchProcessor dead-letters model rejections with the scorer's reason and the event id", async () => {
    const victim = JSON.parse(events[3].value).event_id;
    const scorer = new FakeScorer({ reject: (record) => record.event_id === victim ? "not_a_number" : undefined });
    const processor = new BatchProcessor({ scorer, topics });
    const { records, outcome } = await processor.process({ topic: "in", partition: 0, messages });
    const rejected = records.filter((record) => record.headers?.[DLQ_HEADERS.reason] === "not_a_number");
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].headers![DLQ_HEADERS.eventId], victim);
    assert.equal(rejected[0].headers![DLQ_HEADERS.sourceOffset], "3");
    assert.equal(outcome.predicted, events.length - 1);
  });

  await t.step("BatchProcessor handles a batch of only malformed messages without calling the model", async () => {
    const scorer = new FakeScorer();
    const processor = new BatchProcessor({ scorer, topics });
    const { records, outcome } = await processor.process({
      topic: "in",
      partition: 0,
      messages: bad.map((item, index) => inputMessage(index, item.value, item.key)),
    });
    assert.equal(scorer.calls.length, 0);
    assert.equal(records.length, bad.length);
    assert.equal(outcome.predicted, 0);
  });

  await t.step("BatchProcessor rejects when the model is broken for every record", async () => {
    const processor = new BatchProcessor({ scorer: new FakeScorer({ fail: () => true }), topics });
    await assert.rejects(processor.process({ topic: "in", partition: 0, messages }), /model exploded/);
  });
});
