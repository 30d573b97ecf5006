import assert from "node:assert/strict";
import { ensureTopics, withAdmin } from "../../src/kafka/admin.ts";
import { openBatchConsumer } from "../../src/kafka/consumer.ts";
import { openProducer } from "../../src/kafka/producer.ts";
import { testConnection, uniqueTopics } from "../support.ts";

Deno.test({
  name: "openBatchConsumer backpressure",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const topics = uniqueTopics("backpressure");
    await withAdmin(testConnection, (admin) => ensureTopics(admin, [{ topic: topics.input, partitions: 1 }]));
    const writer = await openProducer(testConnection);
    // One record batch per send: with 1-byte fetches each fetch returns one, so reading all needs 12 fetches.
    for (let index = 0; index < 12; index++) await writer.send([{ topic: topics.input, key: "k", value: `m${index}` }]);
    await writer.close();

    await t.step("openBatchConsumer counts in-flight bytes, pauses over the limit and resumes after acks", async () => {
      // 1-byte fetches and a 1-byte limit: every batch pauses fetching, and only resuming brings the next one.
      const consumer = await openBatchConsumer(testConnection, {
        topic: topics.input,
        group: topics.group,
        maxBatchMessages: 4,
        partitionMaxBytes: 1,
        maxInFlightBytes: 1,
      });
      try {
        let seen = 0;
        while (seen < 12) {
          const batch = await consumer.read({ timeoutMs: 30000 });
          assert.ok(batch, `no batch after ${seen} messages: fetching did not resume`);
          const bytes = batch.messages.reduce((sum, m) => sum + (m.value?.length ?? 0) + (m.key?.length ?? 0), 0);
          assert.ok(consumer.state().inFlightBytes >= bytes);
          seen += batch.messages.length;
          await batch.ack();
        }
        assert.equal(seen, 12);
        assert.equal(consumer.state().inFlightBytes, 0);
      } finally {
        await consumer.close();
      }
    });
  },
});
