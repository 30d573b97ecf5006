/**
 * End-to-end tests of `churnctl consume` against the real local broker: the
 * CLI runs as a child process, input is produced with `openProducer`, and
 * the output topics are read back with `readTopic` (read_committed).
 *
 * @module
 */
import assert from "node:assert/strict";
import { ensureTopics, groupLag, withAdmin } from "../../src/kafka/admin.ts";
import { toKafkaRecords } from "../../src/kafka/consumer.ts";
import { openProducer } from "../../src/kafka/producer.ts";
import { type ReadMessage, readTopic } from "../../src/kafka/reader.ts";
import type { OutputRecord } from "../../src/pipeline/records.ts";
import { runCli, RunningCli, testConnection, topicEnv, uniqueTopics } from "../support.ts";
import { malformedCases, type TestEvent, validEvents } from "../pipeline/fixtures.ts";

type Topics = ReturnType<typeof uniqueTopics>;

async function createTopics(topics: Topics, inputPartitions = 3): Promise<void> {
  await withAdmin(testConnection, (admin) =>
    ensureTopics(admin, [
      { topic: topics.input, partitions: inputPartitions },
      { topic: topics.output, partitions: 3 },
      { topic: topics.deadletter, partitions: 1 },
    ]));
}

async function produce(topic: string, records: Omit<OutputRecord, "topic">[]): Promise<void> {
  const writer = await openProducer(testConnection);
  try {
    for (let start = 0; start < records.length; start += 5000) {
      await writer.send(toKafkaRecords(records.slice(start, start + 5000).map((record) => ({ ...record, topic }))));
    }
  } finally {
    await writer.close();
  }
}

function eventRecords(events: TestEvent[]): Omit<OutputRecord, "topic">[] {
  return events.map((event) => ({ key: event.key, value: event.value, headers: event.headers }));
}

/** Waits until the group has committed `total` messages of the topic (lag 0 and that many offsets). */
async function waitCommitted(topics: Topics, total: number, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
    last = lag.partitions.reduce((sum, item) => sum + Math.max(0, item.committed), 0);
    if (last >= total) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`group ${topics.group} committed ${last} of ${total} within ${timeoutMs} ms`);
}

/** Output records keyed by the input message they came from (`partition:offset`). */
interface Accounting {
  bySource: Map<string, ReadMessage[]>;
  predictions: ReadMessage[];
  deadLetters: ReadMessage[];
}

async function readOutputs(topics: Topics): Promise<Accounting> {
  const [predictions, deadLetters] = await Promise.all([
    readTopic(testConnection, topics.output, { idleMs: 3000 }),
    readTopic(testConnection, topics.deadletter, { idleMs: 3000 }),
  ]);
  const bySource = new Map<string, ReadMessage[]>();
  const add = (key: string, message: ReadMessage) => {
    const list = bySource.get(key);
    if (list) list.push(message);
    else bySource.set(key, [message]);
  };
  for (const message of predictions) {
    assert.equal(message.headers["source-topic"], topics.input);
    add(`${message.headers["source-partition"]}:${message.headers["source-offset"]}`, message);
  }
  for (const message of deadLetters) {
    assert.equal(message.headers["dlq-source-topic"], topics.input);
    add(`${message.headers["dlq-source-partition"]}:${message.headers["dlq-source-offset"]}`, message);
  }
  return { bySource, predictions, deadLetters };
}

/** Every input offset of the topic, as `partition:offset`. */
async function inputOffsets(topics: Topics): Promise<string[]> {
  const marks = await withAdmin(testConnection, (admin) => admin.fetchTopicOffsets(topics.input));
  const keys: string[] = [];
  for (const mark of marks) {
    for (let offset = Number(mark.low); offset < Number(mark.high); offset++) keys.push(`${mark.partition}:${offset}`);
  }
  return keys;
}

/** Loss (inputs without output) and duplicates (outputs beyond one per input). */
async function account(topics: Topics): Promise<{ lost: string[]; duplicates: number; outputs: Accounting }> {
  const outputs = await readOutputs(topics);
  const lost: string[] = [];
  let duplicates = 0;
  for (const key of await inputOffsets(topics)) {
    const found = outputs.bySource.get(key)?.length ?? 0;
    if (found === 0) lost.push(key);
    else duplicates += found - 1;
  }
  return { lost, duplicates, outputs };
}

function eventIdOf(message: ReadMessage): string | undefined {
  if (message.headers["dlq-reason"] !== undefined) return message.headers["dlq-event-id"];
  return JSON.parse(new TextDecoder().decode(message.value!)).event_id;
}

Deno.test({
  name: "consume against the local broker",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await t.step("consume writes every event once: predictions, and dead letters with their reason", async () => {
      const topics = uniqueTopics("consume-e2e");
      await createTopics(topics);
      const env = topicEnv(topics);
      const events = validEvents(3000);
      const bad = malformedCases(events[0]);
      const consumer = new RunningCli(["consume", "--json", "--batch-size", "500"], env);
      try {
        await consumer.waitFor(/joined group/);
        // Valid events before and after the malformed ones: the partition must go on after each poison message.
        await produce(topics.input, eventRecords(events.slice(0, 1500)));
        await produce(topics.input, bad.map((item) => ({ key: item.key, value: item.value })));
        await produce(topics.input, eventRecords(events.slice(1500)));
        const total = events.length + bad.length;
        await waitCommitted(topics, total);
        assert.ok(await consumer.running(), `the consumer stopped:\n${consumer.stderr}`);
        const status = await consumer.stop("SIGINT");
        assert.equal(status.code, 0, consumer.stderr);
        const summary = JSON.parse(consumer.stdout);
        assert.equal(summary.consumed, total);
        assert.equal(summary.predicted, events.length);
        assert.equal(summary.dead_lettered, bad.length);
        assert.equal(summary.guarantee, "at-least-once");
        assert.equal(summary.stopped_by, "signal");

        const { lost, duplicates, outputs } = await account(topics);
        assert.deepEqual(lost, []);
        assert.equal(duplicates, 0);
        const seen = new Map<string, number>();
        for (const message of [...outputs.predictions, ...outputs.deadLetters]) {
          const id = eventIdOf(message);
          if (id !== undefined) seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        for (const event of events) assert.equal(seen.get(event.eventId), 1, `event ${event.eventId}`);
        const reasons = outputs.deadLetters.map((
          message,
        ) => [message.headers["dlq-reason"], message.headers["dlq-event-id"]]);
        assert.deepEqual(
          reasons.sort((a, b) => String(a).localeCompare(String(b))),
          bad.map((item) => [item.reason, item.eventId]).sort((a, b) => String(a).localeCompare(String(b))),
        );
        for (const id of bad.map((item) => item.eventId).filter((id) => id !== undefined)) {
          assert.equal(seen.get(id!), 1, `dead letter ${id}`);
        }
        // The original bytes travel untouched: the invalid UTF-8 message comes back byte for byte.
        const encoding = bad.find((item) => item.reason === "invalid_encoding")!;
        const letter = outputs.deadLetters.find((message) => message.headers["dlq-event-id"] === encoding.eventId)!;
        assert.deepEqual(letter.value, encoding.value);
        assert.equal(letter.key, encoding.key);
      } finally {
        if (await consumer.running()) await consumer.stop("SIGKILL");
      }
    });

    await t.step("consume killed with SIGKILL mid-stream and restarted loses nothing", async () => {
      const topics = uniqueTopics("consume-kill");
      await createTopics(topics);
      const env = topicEnv(topics);
      const events = validEvents(40000, 11);
      await produce(topics.input, eventRecords(events.slice(0, 10000)));
      const args = ["consume", "--json", "--batch-size", "200", "--session-timeout-ms", "6000"];
      const first = new RunningCli(args, env);
      // Input keeps arriving while the first consumer runs, so the kill lands with work in flight.
      let sent = 10000;
      const feeding = (async () => {
        while (sent < events.length) {
          await produce(topics.input, eventRecords(events.slice(sent, sent + 1000)));
          sent += 1000;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      let committedAtKill = 0;
      try {
        await waitCommitted(topics, 5000);
        first.child.kill("SIGKILL");
        await first.done;
        const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
        committedAtKill = lag.partitions.reduce((sum, item) => sum + Math.max(0, item.committed), 0);
      } finally {
        if (await first.running()) await first.stop("SIGKILL");
      }
      await feeding;
      assert.ok(committedAtKill < events.length, `the kill came after the end (${committedAtKill} committed)`);
      const second = new RunningCli(args, env);
      try {
        await waitCommitted(topics, events.length, 120000);
        assert.equal((await second.stop("SIGINT")).code, 0, second.stderr);
      } finally {
        if (await second.running()) await second.stop("SIGKILL");
      }
      const { lost, duplicates, outputs } = await account(topics);
      console.log(
        `SIGKILL test: ${events.length} events, killed with ${committedAtKill} committed, ` +
          `${outputs.predictions.length} predictions, lost ${lost.length}, duplicates ${duplicates}`,
      );
      assert.deepEqual(lost, [], "inputs without an output");
      assert.ok(outputs.predictions.length >= events.length);
    });

    await t.step("consume with two members in one group splits the partitions and covers them all", async () => {
      const topics = uniqueTopics("consume-group");
      await createTopics(topics, 4);
      const env = topicEnv(topics);
      const a = new RunningCli(["consume", "--json"], env);
      const b = new RunningCli(["consume", "--json"], env);
      try {
        // Produce only once both are members, so no partition changes hands while there is work.
        const deadline = Date.now() + 60000;
        while (true) {
          const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
          if (lag.members === 2 && lag.state === "Stable") break;
          if (Date.now() > deadline) throw new Error(`group not stable with 2 members: ${lag.state} ${lag.members}`);
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
        const events = validEvents(4000, 5);
        await produce(topics.input, eventRecords(events));
        await waitCommitted(topics, events.length);
        assert.equal((await a.stop("SIGTERM")).code, 0, a.stderr);
        assert.equal((await b.stop("SIGTERM")).code, 0, b.stderr);
        const partitionsOf = (run: RunningCli) =>
          (JSON.parse(run.stdout).partitions as { partition: number }[]).map((item) => item.partition);
        const fromA = partitionsOf(a);
        const fromB = partitionsOf(b);
        assert.ok(fromA.length > 0 && fromB.length > 0, `a ${fromA} b ${fromB}`);
        assert.deepEqual(fromA.filter((partition) => fromB.includes(partition)), [], "a partition processed by both");
        assert.deepEqual([...fromA, ...fromB].sort(), [0, 1, 2, 3]);
        assert.equal(JSON.parse(a.stdout).consumed + JSON.parse(b.stdout).consumed, events.length);
        const { lost, duplicates } = await account(topics);
        assert.deepEqual(lost, []);
        assert.equal(duplicates, 0);
      } finally {
        for (const run of [a, b]) if (await run.running()) await run.stop("SIGKILL");
      }
    });

    await t.step("consume --mode batch stops when idle and writes the report", async () => {
      const topics = uniqueTopics("consume-batch");
      await createTopics(topics);
      const events = validEvents(500, 3);
      const bad = malformedCases(events[0]).slice(0, 3);
      await produce(topics.input, [
        ...eventRecords(events),
        ...bad.map((item) => ({ key: item.key, value: item.value })),
      ]);
      const path = await Deno.makeTempFile({ suffix: ".json" });
      const started = Date.now();
      const result = await runCli(["consume", "--mode", "batch", "--timeout-ms", "2000", "--report", path, "--json"], {
        env: topicEnv(topics),
      });
      assert.equal(result.code, 0, result.stderr);
      assert.ok(Date.now() - started < 30000);
      const report = JSON.parse(await Deno.readTextFile(path));
      assert.equal(report.stopped_by, "idle_timeout");
      assert.equal(report.consumed, 503);
      assert.equal(report.predicted, 500);
      assert.equal(report.dead_lettered, 3);
      assert.equal(report.guarantee, "at-least-once");
      assert.equal(report.probability_histogram.bins.reduce((a: number, b: number) => a + b, 0), 500);
      assert.ok(report.churn_rate > 0 && report.churn_rate < 1);
      assert.equal(report.partitions.reduce((sum: number, item: { messages: number }) => sum + item.messages, 0), 503);
      assert.match(report.model_version, /^sha256:/);
      assert.ok(report.latency_ms.end_to_end.p99 > 0);
      assert.ok(Date.parse(report.ended_at) > Date.parse(report.started_at));
      assert.deepEqual(JSON.parse(result.stdout).report_path, path);
      await Deno.remove(path);
    });

    await t.step("consume --mode batch stops at --max-messages and commits exactly that many", async () => {
      const topics = uniqueTopics("consume-max");
      await createTopics(topics, 1);
      await produce(topics.input, eventRecords(validEvents(1000, 4)));
      const path = await Deno.makeTempFile({ suffix: ".json" });
      const result = await runCli(
        ["consume", "--mode", "batch", "--max-messages", "300", "--timeout-ms", "20000", "--report", path],
        { env: topicEnv(topics) },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /stopped by max messages: consumed 300, predicted 300/);
      const report = JSON.parse(await Deno.readTextFile(path));
      assert.equal(report.stopped_by, "max_messages");
      assert.equal(report.consumed, 300);
      const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
      assert.equal(lag.partitions[0].committed, 300);
      await Deno.remove(path);
    });

    await t.step("consume stops with exit 1 and commits nothing when the output cannot be written", async () => {
      const topics = uniqueTopics("consume-fail");
      // The prediction topic is missing (and auto-creation is off): every send fails.
      await withAdmin(
        testConnection,
        (admin) =>
          ensureTopics(admin, [{ topic: topics.input, partitions: 1 }, { topic: topics.deadletter, partitions: 1 }]),
      );
      await produce(topics.input, eventRecords(validEvents(50, 9)));
      const result = await runCli(["consume", "--mode", "batch", "--timeout-ms", "5000"], { env: topicEnv(topics) });
      assert.equal(result.code, 1, result.stderr);
      const errorLines = result.stderr.split("\n").filter((line) => line.startsWith("error:"));
      assert.equal(errorLines.length, 1, result.stderr);
      const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
      assert.equal(lag.partitions[0].committed, -1, "nothing may be committed");
    });
  },
});
