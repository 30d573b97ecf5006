/**
 * Tests of exactly-once scoring (`consume --exactly-once`, src/kafka/transactions.ts):
 * the fencing classifier without a broker, then the CLI against the real
 * local broker — SIGKILLed several times and restarted, once exactly-once
 * (0 missing, 0 duplicates as a read_committed reader sees them) and once
 * at-least-once (duplicates reported), and a second member with the same
 * transactional identity fencing the first.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ensureTopics, groupLag, withAdmin } from "../../src/kafka/admin.ts";
import { toKafkaRecords } from "../../src/kafka/consumer.ts";
import { openProducer } from "../../src/kafka/producer.ts";
import { type ReadMessage, readTopic } from "../../src/kafka/reader.ts";
import type { BatchConsumer, ConsumedBatch } from "../../src/kafka/consumer.ts";
import type { RecordWriter } from "../../src/kafka/producer.ts";
import {
  ExactlyOnceStep,
  isBrokerRestart,
  isFenced,
  ProducerFencedError,
  RetryBudget,
} from "../../src/kafka/transactions.ts";
import { spawnCli, testConnection, topicEnv, uniqueTopics } from "../support.ts";
import { malformedCases, type TestEvent, validEvents } from "../pipeline/fixtures.ts";

type Topics = ReturnType<typeof uniqueTopics>;

async function createTopics(topics: Topics): Promise<void> {
  await withAdmin(testConnection, (admin) =>
    ensureTopics(admin, [
      { topic: topics.input, partitions: 3 },
      { topic: topics.output, partitions: 3 },
      { topic: topics.deadletter, partitions: 1 },
    ]));
}

type InputRecord = { key: string | null; value: string | Uint8Array | null; headers?: Record<string, string> };

/** The input: valid events with the malformed cases spread among them, so dead letters are in the transactions too. */
function inputRecords(events: TestEvent[]): InputRecord[] {
  const bad = malformedCases(events[0]).filter((item) => item.reason !== "too_large");
  const records: InputRecord[] = events.map((event) => ({
    key: event.key,
    value: event.value,
    headers: event.headers,
  }));
  bad.forEach((item, index) => records.splice((index + 1) * 1000, 0, { key: item.key, value: item.value }));
  return records;
}

async function produce(topic: string, records: InputRecord[]): Promise<void> {
  const writer = await openProducer(testConnection);
  try {
    await writer.send(toKafkaRecords(records.map((record) => ({ ...record, topic }))));
  } finally {
    await writer.close();
  }
}

/** Sends `records` at about `perSecond`, so consumers are mid-stream whenever they are killed. */
function feed(topic: string, records: InputRecord[], perSecond = 1000): Promise<void> {
  return (async () => {
    const slice = Math.max(1, Math.round(perSecond / 4));
    for (let start = 0; start < records.length; start += slice) {
      await produce(topic, records.slice(start, start + slice));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
}

async function committedCount(topics: Topics): Promise<number> {
  const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
  return lag.partitions.reduce((sum, item) => sum + Math.max(0, item.committed), 0);
}

async function waitCommitted(topics: Topics, total: number, timeoutMs = 90000, pollMs = 200): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    last = await committedCount(topics);
    if (last >= total) return last;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`group ${topics.group} committed ${last} of ${total} within ${timeoutMs} ms`);
}

/** A running CLI whose output is collected as it comes. */
class Running {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;
  #exited = false;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawnCli(args, env);
    const collect = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this[into] += text;
    };
    const reading = Promise.all([collect(this.child.stdout, "stdout"), collect(this.child.stderr, "stderr")]);
    this.done = reading.then(() => this.child.status).finally(() => this.#exited = true);
  }

  get running(): boolean {
    return !this.#exited;
  }

  async waitFor(pattern: RegExp, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stderr)) {
      if (!this.running) throw new Error(`exited before ${pattern}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(signal: Deno.Signal = "SIGINT"): Promise<Deno.CommandStatus> {
    if (this.running) this.child.kill(signal);
    return await this.done;
  }
}

function eventIdOf(message: ReadMessage): string | undefined {
  if (message.headers["dlq-reason"] !== undefined) return message.headers["dlq-event-id"];
  return JSON.parse(new TextDecoder().decode(message.value!)).event_id;
}

/** What a read_committed reader sees: inputs without output, outputs beyond one per input, by offset and by event id. */
async function account(topics: Topics, events: TestEvent[]) {
  const [predictions, deadLetters] = await Promise.all([
    readTopic(testConnection, topics.output, { idleMs: 3000 }),
    readTopic(testConnection, topics.deadletter, { idleMs: 3000 }),
  ]);
  const bySource = new Map<string, number>();
  const byEventId = new Map<string, number>();
  for (const message of [...predictions, ...deadLetters]) {
    const letter = message.headers["dlq-reason"] !== undefined;
    const partition = message.headers[letter ? "dlq-source-partition" : "source-partition"];
    const offset = message.headers[letter ? "dlq-source-offset" : "source-offset"];
    bySource.set(`${partition}:${offset}`, (bySource.get(`${partition}:${offset}`) ?? 0) + 1);
    const id = eventIdOf(message);
    if (id !== undefined) byEventId.set(id, (byEventId.get(id) ?? 0) + 1);
  }
  const marks = await withAdmin(testConnection, (admin) => admin.fetchTopicOffsets(topics.input));
  const missing: string[] = [];
  let duplicates = 0;
  for (const mark of marks) {
    for (let offset = Number(mark.low); offset < Number(mark.high); offset++) {
      const found = bySource.get(`${mark.partition}:${offset}`) ?? 0;
      if (found === 0) missing.push(`${mark.partition}:${offset}`);
      else duplicates += found - 1;
    }
  }
  const missingIds = events.filter((event) => !byEventId.has(event.eventId)).length;
  const duplicateIds = events.reduce((sum, event) => sum + Math.max(0, (byEventId.get(event.eventId) ?? 0) - 1), 0);
  return { missing, duplicates, missingIds, duplicateIds, predictions: predictions.length, deadLetters };
}

/**
 * Runs the consumer, SIGKILLs it `kills` times mid-stream (each time after it committed more), restarts it,
 * and lets the last one finish the input.
 */
async function killAndRestart(topics: Topics, args: string[], env: Record<string, string>, kills: number) {
  const events = validEvents(24000, 17);
  const records = inputRecords(events);
  // A backlog, then a steady stream: each consumer starts with work queued, so its kill lands mid-stream.
  await produce(topics.input, records.slice(0, 10000));
  const feeding = feed(topics.input, records.slice(10000));
  const killedAt: number[] = [];
  let last: Running | undefined;
  try {
    for (let round = 0; round <= kills; round++) {
      last = new Running(args, env);
      if (round === kills) break;
      const target = (await committedCount(topics)) + 500;
      await waitCommitted(topics, target, 90000, 50);
      last.child.kill("SIGKILL");
      await last.done;
      killedAt.push(await committedCount(topics));
    }
    await feeding;
    await waitCommitted(topics, records.length, 120000);
    await last!.waitFor(/joined group/);
    const status = await last!.stop("SIGINT");
    assert.equal(status.code, 0, last!.stderr);
    assert.ok(killedAt.every((count) => count < records.length), `a kill came after the end: ${killedAt}`);
  } finally {
    if (last?.running) await last.stop("SIGKILL");
  }
  return { events, records, killedAt, summary: JSON.parse(last!.stdout) };
}

Deno.test("transactions fencing classifier", async (t) => {
  await t.step("isFenced knows the broker's fencing errors by type and by code", () => {
    assert.ok(isFenced({ type: "INVALID_PRODUCER_EPOCH", code: 47 }));
    assert.ok(isFenced({ type: "KAFKAJS_UNKNOWN", code: 90 }));
    assert.ok(isFenced({ name: "KafkaJSNumberOfRetriesExceeded", originalError: { type: "PRODUCER_FENCED" } }));
    assert.ok(isFenced(new Error("wrapped", { cause: { type: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" } })));
    assert.ok(isFenced(new ProducerFencedError("churnctl-g-a", "x")));
  });
  await t.step("isFenced leaves retriable and unrelated errors to the retry", () => {
    assert.ok(!isFenced({ type: "COORDINATOR_LOAD_IN_PROGRESS", code: 14 }));
    assert.ok(!isFenced({ type: "NOT_COORDINATOR", code: 16 }));
    assert.ok(!isFenced(new Error("Connection error: ECONNREFUSED")));
    assert.ok(!isFenced(undefined));
  });
  // Regression (issue 9 soak finding): a broker restart stopped a running `consume --exactly-once`.
  await t.step("isBrokerRestart knows what a broker restart looks like, also wrapped", () => {
    const groupNotFound = Object.assign(new Error("Failed to find group coordinator"), {
      name: "KafkaJSGroupCoordinatorNotFound",
    });
    assert.ok(isBrokerRestart(groupNotFound));
    assert.ok(isBrokerRestart(new Error("Failed to find group coordinator")));
    assert.ok(isBrokerRestart({ name: "KafkaJSConnectionError", message: "Connection error: connect ECONNREFUSED" }));
    assert.ok(isBrokerRestart({ name: "KafkaJSNumberOfRetriesExceeded", originalError: { code: "ECONNREFUSED" } }));
    assert.ok(isBrokerRestart({ name: "KafkaJSNonRetriableError", cause: groupNotFound }));
    assert.ok(isBrokerRestart({ type: "COORDINATOR_NOT_AVAILABLE", code: 15 }));
    assert.ok(isBrokerRestart({ type: "NOT_COORDINATOR", code: 16 }));
    assert.ok(isBrokerRestart({ type: "COORDINATOR_LOAD_IN_PROGRESS", code: 14 }));
    assert.ok(isBrokerRestart(new Error("no broker", { cause: { name: "KafkaJSConnectionClosedError" } })));
  });
  await t.step("isBrokerRestart never takes a fenced producer or an unrelated error for a restart", () => {
    assert.ok(!isBrokerRestart({ type: "PRODUCER_FENCED", cause: { code: "ECONNREFUSED" } }));
    assert.ok(!isBrokerRestart({ name: "KafkaJSNumberOfRetriesExceeded", originalError: { code: 47 } }));
    assert.ok(!isBrokerRestart(new ProducerFencedError("churnctl-g-a", new Error("Connection error"))));
    assert.ok(!isBrokerRestart({ type: "INVALID_RECORD", code: 87 }));
    assert.ok(!isBrokerRestart(new TypeError("undefined is not a function")));
    assert.ok(!isBrokerRestart(undefined));
  });
  await t.step("RetryBudget retries a broker restart for its whole window, not just `retries` times", () => {
    const budget = new RetryBudget({ retries: 2, backoffMs: 200, brokerRestartWindowMs: 60000 });
    const refused = { name: "KafkaJSConnectionError", code: "ECONNREFUSED" };
    const delays: number[] = [];
    for (let now = 0; now < 59000; now += 1000) delays.push(budget.next(refused, now)!);
    assert.ok(delays.every((delay) => delay >= 1 && delay <= 2000), String(delays));
    assert.deepEqual(delays.slice(0, 4), [250, 500, 1000, 2000]);
    assert.equal(budget.next(refused, 60000), undefined, "past the window");
  });
  await t.step("RetryBudget gives other errors `retries` tries and a fenced producer none", () => {
    const budget = new RetryBudget({ retries: 2, backoffMs: 200, brokerRestartWindowMs: 60000 });
    const other = { type: "INVALID_RECORD", code: 87 };
    assert.deepEqual([budget.next(other, 0), budget.next(other, 1), budget.next(other, 2)], [200, 400, undefined]);
    const fresh = new RetryBudget({ retries: 5, backoffMs: 200, brokerRestartWindowMs: 60000 });
    assert.equal(fresh.next({ type: "INVALID_PRODUCER_EPOCH", code: 47 }, 0), undefined);
  });
  await t.step("ProducerFencedError is one line that names the transactional id and exits 1", () => {
    const error = new ProducerFencedError("churnctl-g-a", new Error("epoch\nbumped"));
    assert.equal(error.exitCode, 1);
    assert.ok(!error.message.includes("\n"));
    assert.match(error.message, /^fenced: .*churnctl-g-a/);
  });
});

Deno.test({
  name: "transactions against the local broker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const base = ["consume", "--json", "--batch-size", "200", "--session-timeout-ms", "6000"];

    await t.step("consume --exactly-once SIGKILLed 3 times and restarted writes every event exactly once", async () => {
      const topics = uniqueTopics("eos-kill");
      await createTopics(topics);
      const env = { ...topicEnv(topics), CHURNCTL_EXACTLY_ONCE: "1", CHURNCTL_INSTANCE_ID: "kill-test" };
      const run = await killAndRestart(topics, base, env, 3);
      assert.equal(run.summary.guarantee, "exactly-once");
      const result = await account(topics, run.events);
      console.log(
        `exactly-once SIGKILL x${run.killedAt.length} (committed at kills: ${run.killedAt.join(", ")}): ` +
          `${run.records.length} inputs, ${result.predictions} predictions + ${result.deadLetters.length} dead letters, ` +
          `missing ${result.missing.length}, duplicates ${result.duplicates} (by event_id: missing ${result.missingIds}, ` +
          `duplicates ${result.duplicateIds})`,
      );
      assert.equal(run.killedAt.length, 3);
      assert.deepEqual(result.missing, [], "inputs without an output");
      assert.equal(result.duplicates, 0, "inputs with more than one output");
      assert.equal(result.missingIds, 0);
      assert.equal(result.duplicateIds, 0);
      assert.equal(result.predictions, run.events.length);
      assert.equal(result.deadLetters.length, run.records.length - run.events.length);
    });

    await t.step("consume at-least-once SIGKILLed 3 times loses nothing and reports its duplicates", async () => {
      const topics = uniqueTopics("alo-kill");
      await createTopics(topics);
      const run = await killAndRestart(topics, base, topicEnv(topics), 3);
      assert.equal(run.summary.guarantee, "at-least-once");
      const result = await account(topics, run.events);
      console.log(
        `at-least-once SIGKILL x${run.killedAt.length}: ${run.records.length} inputs, ${result.predictions} predictions, ` +
          `missing ${result.missing.length}, duplicates ${result.duplicates} (by event_id ${result.duplicateIds})`,
      );
      assert.deepEqual(result.missing, [], "inputs without an output");
      assert.equal(result.missingIds, 0);
    });

    await t.step("a second consumer with the same transactional identity fences the first, which exits 1", async () => {
      const topics = uniqueTopics("eos-fence");
      await createTopics(topics);
      const env = topicEnv(topics);
      const args = [...base, "--exactly-once", "--instance-id", "same"];
      const events = validEvents(16000, 23);
      const records = inputRecords(events);
      const first = new Running(args, env);
      let second: Running | undefined;
      try {
        await first.waitFor(/joined group/);
        const feeding = feed(topics.input, records, 2000);
        await waitCommitted(topics, 3000);
        second = new Running(args, env);
        const status = await Promise.race([
          first.done,
          new Promise<never>((_, reject) =>
            setTimeout(() => reject(new Error(`the first consumer was not fenced:\n${first.stderr}`)), 60000)
          ),
        ]);
        assert.equal(status.code, 1, first.stderr);
        const errors = first.stderr.split("\n").filter((line) => line.startsWith("error:"));
        assert.equal(errors.length, 1, first.stderr);
        assert.match(errors[0], /^error: fenced: .*transactional\.id 'churnctl-.*-same'/);
        await feeding;
        await waitCommitted(topics, records.length, 120000);
        assert.equal((await second.stop("SIGINT")).code, 0, second.stderr);
      } finally {
        for (const run of [first, second]) if (run?.running) await run.stop("SIGKILL");
      }
      const result = await account(topics, events);
      console.log(
        `fencing: ${records.length} inputs, missing ${result.missing.length}, duplicates ${result.duplicates}`,
      );
      assert.deepEqual(result.missing, [], "the fenced consumer lost output");
      assert.equal(result.duplicates, 0);
      assert.equal(result.duplicateIds, 0);
    });
  },
});

/** A producer whose first transaction fails as kafkajs does while the broker restarts (or when fenced). */
function failingWriter(error: unknown): RecordWriter {
  return {
    raw: { transaction: () => Promise.reject(error) } as unknown as RecordWriter["raw"],
    send: () => Promise.reject(new Error("not used")),
    close: () => Promise.resolve(),
  };
}

/** One consumed batch of `topic` partition 0, offsets 0..count-1, that records its settling. */
function fakeBatch(topic: string, count: number) {
  const settled: string[] = [];
  const messages = Array.from({ length: count }, (_, index) => ({ offset: String(index) }));
  const batch = {
    topic,
    partition: 0,
    messages,
    highWatermark: String(count),
    fetchedAt: Date.now(),
    commitPoint: (n = count) => ({ topic, partition: 0, offset: String(n) }),
    ack: () => Promise.reject(new Error("not used")),
    markCommitted: (n = count) => Promise.resolve(void settled.push(`committed ${n}`)),
    release: () => void settled.push("released"),
  } as unknown as ConsumedBatch;
  const source: BatchConsumer = {
    read: () => Promise.resolve(batch),
    pause() {},
    resume() {},
    state: () => ({ assigned: [0], lag: new Map(), inFlightBytes: 0 }),
    close: () => Promise.resolve(),
  };
  return { source, settled };
}

Deno.test({
  name: "ExactlyOnceStep against the local broker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    // Regression (issue 9 soak finding): "Failed to find group coordinator" while the broker restarted stopped a
    // running `consume --exactly-once`. With retries 0 only the broker-restart window can save the transaction.
    await t.step(
      "ExactlyOnceStep rides out a lost coordinator even with no retries left, and writes once",
      async () => {
        const topics = uniqueTopics("eos-restart");
        await createTopics(topics);
        const lost = Object.assign(new Error("Failed to find group coordinator"), {
          name: "KafkaJSGroupCoordinatorNotFound",
        });
        const step = new ExactlyOnceStep(
          testConnection,
          { transactionalId: `${topics.group}-t`, group: topics.group, retries: 0, brokerRestartWindowMs: 30000 },
          failingWriter(lost),
        );
        try {
          const { source, settled } = fakeBatch(topics.input, 3);
          const batch = (await step.track(source).read())!;
          const records = [0, 1, 2].map((index) => ({
            topic: topics.output,
            key: `k${index}`,
            value: JSON.stringify({ event_id: `e${index}` }),
          }));
          await step.complete(batch, records);
          assert.deepEqual(step.counts(), { committed: 1, batches: 1, aborted: 1 });
          assert.deepEqual(settled, ["committed 3"]);
          const written = await readTopic(testConnection, topics.output, { idleMs: 2000 });
          assert.deepEqual(written.map((message) => message.key).sort(), ["k0", "k1", "k2"]);
          const committed = await withAdmin(
            testConnection,
            (admin) => admin.fetchOffsets({ groupId: topics.group, topics: [topics.input] }),
          );
          assert.equal(
            committed[0].partitions.find((item) => item.partition === 0)?.offset,
            "3",
          );
        } finally {
          await step.close();
        }
      },
    );

    await t.step("ExactlyOnceStep still stops at once when fenced, without retrying", async () => {
      const topics = uniqueTopics("eos-fenced");
      await createTopics(topics);
      const fenced = { name: "KafkaJSNumberOfRetriesExceeded", originalError: { type: "PRODUCER_FENCED", code: 90 } };
      const step = new ExactlyOnceStep(
        testConnection,
        { transactionalId: `${topics.group}-t`, group: topics.group, retries: 5, brokerRestartWindowMs: 30000 },
        failingWriter(fenced),
      );
      try {
        const { source } = fakeBatch(topics.input, 2);
        const batch = (await step.track(source).read())!;
        const started = Date.now();
        await assert.rejects(
          step.complete(batch, [{ topic: topics.output, key: "k", value: "{}" }]),
          (error: Error) => error instanceof ProducerFencedError && /^fenced: /.test(error.message),
        );
        assert.ok(Date.now() - started < 1000, "a fenced producer backed off");
        assert.equal(step.counts().committed, 0);
      } finally {
        await step.close();
      }
    });
  },
});
