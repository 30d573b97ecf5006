import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ensureTopics, groupLag, withAdmin } from "../../src/kafka/admin.ts";
import {
  type BatchConsumer,
  type ConsumedBatch,
  openBatchConsumer,
  OutOfOrderAckError,
  startBatchConsumer,
  toKafkaRecords,
} from "../../src/kafka/consumer.ts";
import { openProducer } from "../../src/kafka/producer.ts";
import { testConnection, uniqueTopics } from "../support.ts";

async function readBatch(consumer: BatchConsumer, timeoutMs = 30000): Promise<ConsumedBatch> {
  const batch = await consumer.read({ timeoutMs });
  assert.ok(batch, `no batch within ${timeoutMs} ms`);
  return batch;
}

async function committed(topic: string, group: string): Promise<number> {
  const lag = await withAdmin(testConnection, (admin) => groupLag(admin, group, topic));
  return lag.partitions[0].committed;
}

Deno.test("toKafkaRecords", async (t) => {
  await t.step("toKafkaRecords turns plain byte arrays into Buffers without copying", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const [record] = toKafkaRecords([{ topic: "t", key: bytes, value: bytes, headers: { h: bytes, s: "x" } }]);
    assert.ok(Buffer.isBuffer(record.value));
    assert.ok(Buffer.isBuffer(record.key));
    assert.ok(Buffer.isBuffer(record.headers!.h));
    assert.equal((record.value as Buffer).buffer, bytes.buffer);
    assert.equal(record.headers!.s, "x");
  });
});

Deno.test({
  name: "openBatchConsumer against the local broker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const topics = uniqueTopics("consumer");
    await withAdmin(testConnection, (admin) => ensureTopics(admin, [{ topic: topics.input, partitions: 1 }]));
    const writer = await openProducer(testConnection);
    await writer.send(
      Array.from({ length: 10 }, (_, index) => ({ topic: topics.input, key: "k", value: `m${index}` })),
    );
    await writer.close();
    const options = { topic: topics.input, group: topics.group, maxBatchMessages: 4 };

    await t.step("openBatchConsumer starts from the earliest offset and splits a fetch into batches", async () => {
      const consumer = await openBatchConsumer(testConnection, options);
      try {
        const batch = await readBatch(consumer);
        assert.equal(batch.messages[0].offset, "0");
        assert.equal(batch.messages.length, 4);
        assert.equal(batch.highWatermark, "10");
        assert.deepEqual(batch.commitPoint(), { topic: topics.input, partition: 0, offset: "4" });
        assert.equal(await committed(topics.input, topics.group), -1, "nothing committed before ack");
        // Acking only the first 3 messages commits offset 3; the rest comes back to the next member.
        await batch.ack(3);
        assert.equal(await committed(topics.input, topics.group), 3);
        const second = await readBatch(consumer);
        assert.equal(second.messages[0].offset, "4");
        await assert.rejects(second.ack(), OutOfOrderAckError, "an ack past a partially acked batch must fail");
      } finally {
        await consumer.close();
      }
    });

    await t.step("openBatchConsumer redelivers from the committed offset after a restart", async () => {
      const consumer = await openBatchConsumer(testConnection, options);
      try {
        const batch = await readBatch(consumer);
        assert.equal(batch.messages[0].offset, "3");
        assert.equal(new TextDecoder().decode(batch.messages[0].value!), "m3");
        batch.release();
      } finally {
        await consumer.close();
      }
      assert.equal(await committed(topics.input, topics.group), 3, "a released batch commits nothing");
    });

    await t.step("openBatchConsumer commits batches of a partition in order and reports lag", async () => {
      const consumer = await openBatchConsumer(testConnection, options);
      try {
        const first = await readBatch(consumer);
        const second = await readBatch(consumer);
        assert.deepEqual([first, second].map((batch) => batch.messages.map((message) => message.offset)), [
          ["3", "4", "5", "6"],
          ["7", "8", "9"],
        ]);
        // Acked out of order: the later ack waits for the earlier one, and the commit ends at 10.
        const later = second.ack();
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.equal(await committed(topics.input, topics.group), 3, "the later batch must wait for the earlier");
        await first.ack();
        await later;
        assert.equal(await committed(topics.input, topics.group), 10);
        assert.equal(consumer.state().lag.get(0), 0);
        assert.deepEqual(consumer.state().assigned, [0]);
        assert.equal(await consumer.read({ timeoutMs: 500 }), undefined);
      } finally {
        await consumer.close();
      }
    });

    await t.step("openBatchConsumer read returns undefined when the signal aborts", async () => {
      const consumer = await openBatchConsumer(testConnection, options);
      try {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 200);
        const started = Date.now();
        assert.equal(await consumer.read({ timeoutMs: 20000, signal: controller.signal }), undefined);
        assert.ok(Date.now() - started < 5000);
      } finally {
        await consumer.close();
      }
    });
  },
});

type KafkaConsumer = Parameters<typeof startBatchConsumer>[0];

/** A stand-in for kafkajs's Consumer that records calls and lets the test emit its CRASH event. */
class ScriptedConsumer {
  events = { GROUP_JOIN: "consumer.group_join", CRASH: "consumer.crash" };
  joins = 0;
  disconnects = 0;
  /** How many of the next joins fail as if the broker were still away. */
  failNextJoins = 0;
  #listeners = new Map<string, (event: { payload: unknown }) => void>();
  on(name: string, listener: (event: { payload: unknown }) => void) {
    this.#listeners.set(name, listener);
    return () => {};
  }
  emit(name: string, payload: unknown) {
    this.#listeners.get(name)?.({ payload });
  }
  connect() {
    if (this.failNextJoins > 0) {
      this.failNextJoins--;
      return Promise.reject(Object.assign(new Error("Connection error: connect ECONNREFUSED"), {
        name: "KafkaJSConnectionError",
      }));
    }
    this.joins++;
    return Promise.resolve();
  }
  subscribe() {
    return Promise.resolve();
  }
  run() {
    return Promise.resolve();
  }
  disconnect() {
    this.disconnects++;
    return Promise.resolve();
  }
  pause() {}
  resume() {}
}

Deno.test("batch consumer after kafkajs gives up", async (t) => {
  const settings = { ...testConnection, brokers: ["127.0.0.1:1"] };
  const options = { topic: "t", group: "g" };
  const waitFor = async (condition: () => boolean) => {
    for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  };

  await t.step("batch consumer rejoins when the broker went away (Failed to find group coordinator)", async () => {
    const fake = new ScriptedConsumer();
    const consumer = await startBatchConsumer(fake as unknown as KafkaConsumer, settings, options);
    assert.equal(fake.joins, 1);
    fake.failNextJoins = 2;
    const lost = Object.assign(new Error("Failed to find group coordinator"), {
      name: "KafkaJSGroupCoordinatorNotFound",
    });
    fake.emit(fake.events.CRASH, { error: lost, groupId: "g", restart: false });
    await waitFor(() => fake.joins === 2);
    assert.equal(fake.joins, 2, "rejoined after two refused attempts");
    assert.equal(await consumer.read({ timeoutMs: 50 }), undefined, "no failure was raised");
    await consumer.close();
  });

  await t.step("batch consumer fails for good on an error that is not the broker going away", async () => {
    const fake = new ScriptedConsumer();
    const consumer = await startBatchConsumer(fake as unknown as KafkaConsumer, settings, options);
    const fatal = Object.assign(new Error("Topic authorization failed"), { type: "TOPIC_AUTHORIZATION_FAILED" });
    fake.emit(fake.events.CRASH, { error: fatal, groupId: "g", restart: false });
    await assert.rejects(consumer.read({ timeoutMs: 1000 }), /Topic authorization failed/);
    assert.equal(fake.joins, 1);
    await consumer.close();
  });
});
