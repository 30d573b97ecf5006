/**
 * `churnctl consume --mode streaming --metrics-addr …` against the real
 * broker: /metrics scraped over HTTP and parsed with a Prometheus-format
 * parser, /ready before and after the broker answers, and SIGTERM shutdown.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ensureTopics, groupLag, withAdmin } from "../../src/kafka/admin.ts";
import { openProducer } from "../../src/kafka/producer.ts";
import { readTopic } from "../../src/kafka/reader.ts";
import { readCsvRows } from "../../src/pipeline/csv_source.ts";
import { checkRow, type EventMessage, EventStamper } from "../../src/pipeline/events.ts";
import { VERSION } from "../../src/version.ts";
import { DATA_FILE, RunningCli, TEST_BROKERS, testConnection, topicEnv, uniqueTopics } from "../support.ts";
import { type Family, histogramOf, parseExposition, valueOf } from "./exposition.ts";

type Topics = ReturnType<typeof uniqueTopics>;

async function createTopics(topics: Topics, output = true): Promise<void> {
  await withAdmin(testConnection, (admin) =>
    ensureTopics(admin, [
      { topic: topics.input, partitions: 3 },
      ...(output ? [{ topic: topics.output, partitions: 3 }] : []),
      { topic: topics.deadletter, partitions: 1 },
    ]));
}

/** Valid events built from the CSV the way `produce` builds them (normalizeCsvRow + event_id/event_ts). */
async function csvEvents(count: number): Promise<EventMessage[]> {
  const stamper = new EventStamper(crypto.randomUUID());
  const events: EventMessage[] = [];
  while (events.length < count) {
    for await (const row of readCsvRows(DATA_FILE)) {
      const outcome = checkRow(row);
      if (outcome.ok) events.push(stamper.customerEvent(outcome.customer));
      if (events.length === count) break;
    }
  }
  return events;
}

async function send(topic: string, records: { key: string | null; value: string; headers?: Record<string, string> }[]) {
  const writer = await openProducer(testConnection);
  try {
    for (let start = 0; start < records.length; start += 5000) {
      await writer.send(records.slice(start, start + 5000).map((record) => ({ ...record, topic })));
    }
  } finally {
    await writer.close();
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60000,
  explain: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${last})` : ""}\n${explain()}`);
}

async function scrape(base: string): Promise<Map<string, Family>> {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

async function status(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

Deno.test("consume service endpoint", async (t) => {
  await t.step("consume metrics match the events sent and lag falls to 0", async () => {
    const topics = uniqueTopics("metrics");
    await createTopics(topics);
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const consumer = new RunningCli([
      "consume",
      "--mode",
      "streaming",
      "--metrics-addr",
      `127.0.0.1:${port}`,
      "--lag-interval-ms",
      "200",
      "--progress-interval-ms",
      "300",
      "--log-format",
      "json",
    ], topicEnv(topics));
    try {
      await waitUntil(
        "/ready 200",
        async () => (await status(`${base}/ready`)).status === 200 || undefined,
        60000,
        () => consumer.stderr,
      );
      const events = await csvEvents(500);
      const invalid = [{ key: "bad-1", value: "{not json" }, { key: "bad-2", value: "[]" }];
      await send(topics.input, [...events, ...invalid]);
      const total = events.length + invalid.length;
      const families = await waitUntil("every message counted", async () => {
        const families = await scrape(base);
        return valueOf(families, "churnctl_messages_consumed_total") === total ? families : undefined;
      });
      assert.equal(valueOf(families, "churnctl_predictions_total"), events.length);
      const deadLetters = families.get("churnctl_dead_letters_total")!.metrics;
      assert.equal(deadLetters.reduce((sum, sample) => sum + Number(sample.value), 0), invalid.length);
      assert.equal(valueOf(families, "churnctl_dead_letters_total", { reason: "invalid_json" }), 1);
      const churned = valueOf(families, "churnctl_predicted_churn_total")!;
      assert.ok(churned > 0 && churned < events.length, `churned ${churned}`);
      const rate = valueOf(families, "churnctl_predicted_churn_rate")!;
      assert.ok(rate > 0 && rate < 1, `rate ${rate}`);
      const batches = valueOf(families, "churnctl_batches_total")!;
      assert.equal(histogramOf(families, "churnctl_batch_size_messages")!.count, batches);
      assert.equal(histogramOf(families, "churnctl_batch_size_messages")!.sum, total);
      const e2e = histogramOf(families, "churnctl_end_to_end_latency_seconds")!;
      assert.ok(e2e.count >= events.length, `e2e count ${e2e.count}`);
      assert.ok(e2e.sum / e2e.count < 60, `mean e2e ${e2e.sum / e2e.count} s`);
      assert.equal(histogramOf(families, "churnctl_model_inference_seconds")!.count, batches);
      assert.equal(valueOf(families, "churnctl_build_info", { version: VERSION, deno: Deno.version.deno }), 1);
      assert.equal(families.get("churnctl_model_info")!.metrics.length, 1);
      assert.equal(valueOf(families, "churnctl_ready"), 1);

      const settled = await waitUntil("lag 0 on every partition", async () => {
        const families = await scrape(base);
        const lags = families.get("churnctl_consumer_lag_messages")?.metrics ?? [];
        return lags.length === 3 && lags.every((sample) => Number(sample.value) === 0) ? families : undefined;
      });
      assert.equal(valueOf(settled, "churnctl_assigned_partitions"), 3);
      for (const partition of ["0", "1", "2"]) {
        assert.equal(valueOf(settled, "churnctl_consumer_lag_messages", { topic: topics.input, partition }), 0);
      }
      assert.equal((await status(`${base}/healthz`)).status, 200);
      const progress = await waitUntil("a progress line with lag per partition", () => {
        const lines = consumer.stderr.split("\n").filter((line) => line.includes('"msg":"progress"'));
        const last = lines.map((line) => JSON.parse(line)).findLast((line) => line.consumed === total);
        return Promise.resolve(last?.lag_by_partition ? last : undefined);
      });
      assert.deepEqual(progress.lag_by_partition, { 0: 0, 1: 0, 2: 0 });

      consumer.child.kill("SIGTERM");
      const exit = await consumer.done;
      assert.equal(exit.code, 0, consumer.stderr);
      for (const line of consumer.stderr.split("\n").filter((line) => line.trim() !== "")) JSON.parse(line);
      await assert.rejects(fetch(`${base}/metrics`));
    } finally {
      await consumer.ensureStopped();
    }
  });

  await t.step("consume /ready is 503 before the broker answers and 200 after", async () => {
    const topics = uniqueTopics("ready");
    await createTopics(topics);
    const brokerPort = freePort();
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const consumer = new RunningCli(
      ["consume", "--mode", "streaming", "--metrics-addr", `127.0.0.1:${port}`, "--lag-interval-ms", "200"],
      { ...topicEnv(topics), CHURNCTL_BROKERS: `127.0.0.1:${brokerPort}`, CHURNCTL_CONNECT_TIMEOUT_MS: "1000" },
    );
    let proxy: Deno.TcpListener | undefined;
    try {
      const before = await waitUntil("endpoint up", () => status(`${base}/ready`), 30000);
      assert.equal(before.status, 503);
      assert.equal(before.body.status, "not ready");
      assert.ok(
        (before.body.not_ready as string[]).some((reason) => reason.startsWith("broker:")),
        JSON.stringify(before),
      );
      assert.equal((await status(`${base}/healthz`)).status, 200);
      assert.equal(valueOf(await scrape(base), "churnctl_ready"), 0);
      // The broker "comes up": a TCP forwarder on the bootstrap port to the real broker.
      proxy = forward(brokerPort, TEST_BROKERS.split(",")[0]);
      const after = await waitUntil(
        "/ready 200",
        async () => {
          const answer = await status(`${base}/ready`);
          return answer.status === 200 ? answer : undefined;
        },
        60000,
        () => consumer.stderr,
      );
      assert.deepEqual(after.body.checks, { broker: true, partitions: true, model: true, running: true });
      consumer.child.kill("SIGTERM");
      assert.equal((await consumer.done).code, 0, consumer.stderr);
    } finally {
      proxy?.close();
      await consumer.ensureStopped();
    }
  });

  await t.step("consume SIGTERM mid-stream exits 0 within the timeout and loses nothing", async () => {
    const topics = uniqueTopics("sigterm");
    await createTopics(topics);
    const events = await csvEvents(20000);
    await send(topics.input, events);
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const args = ["consume", "--mode", "streaming", "--metrics-addr", `127.0.0.1:${port}`, "--batch-size", "200"];
    const first = new RunningCli([...args, "--shutdown-timeout", "10", "--concurrency", "1"], topicEnv(topics));
    let stoppedAfterMs = 0;
    try {
      await waitUntil("the first batches committed", async () => {
        const consumed = valueOf(await scrape(base), "churnctl_messages_consumed_total") ?? 0;
        return consumed > 0 ? consumed : undefined;
      });
      const signalled = performance.now();
      first.child.kill("SIGTERM");
      const exit = await first.done;
      stoppedAfterMs = performance.now() - signalled;
      assert.equal(exit.code, 0, first.stderr);
      assert.match(first.stderr, /SIGTERM: finishing the batches in hand/);
    } finally {
      await first.ensureStopped();
    }
    assert.ok(stoppedAfterMs < 10000, `stopped ${stoppedAfterMs} ms after SIGTERM`);
    const committed = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
    assert.ok(committed.totalLag > 0, "the first run should stop before the end, or the test proves nothing");
    // A second member of the group takes over from the committed offsets.
    const second = new RunningCli(["consume", "--mode", "batch", "--timeout-ms", "3000"], topicEnv(topics));
    try {
      assert.equal((await second.done).code, 0, second.stderr);
    } finally {
      await second.ensureStopped();
    }
    const predicted = new Set(
      (await readTopic(testConnection, topics.output)).map((message) =>
        JSON.parse(new TextDecoder().decode(message.value!)).event_id
      ),
    );
    const missing = events.map((event) => JSON.parse(event.value).event_id).filter((id) => !predicted.has(id));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} events never predicted`);
  });

  await t.step("consume past --shutdown-timeout exits 1 naming the batches it abandoned, uncommitted", async () => {
    const topics = uniqueTopics("abandon");
    // No output topic: the batch in hand cannot be written and stays in the producer's retries.
    await createTopics(topics, false);
    const events = await csvEvents(50);
    await send(topics.input, events);
    const port = freePort();
    const consumer = new RunningCli(
      ["consume", "--mode", "streaming", "--metrics-addr", `127.0.0.1:${port}`, "--shutdown-timeout", "2"],
      topicEnv(topics),
    );
    try {
      await waitUntil("a batch in hand", () => Promise.resolve(/joined group/.test(consumer.stderr) || undefined));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const signalled = performance.now();
      consumer.child.kill("SIGTERM");
      const exit = await consumer.done;
      const tookMs = performance.now() - signalled;
      assert.equal(exit.code, 1, consumer.stderr);
      assert.ok(tookMs < 2000 + 3000, `exited ${tookMs} ms after SIGTERM:\n${consumer.stderr}`);
      assert.match(
        consumer.stderr,
        new RegExp(
          `shutdown: --shutdown-timeout 2 s passed with \\d+ batch\\(es\\) in hand; abandoned uncommitted .*${
            topics.input.replaceAll(".", "\\.")
          }\\[\\d\\] offsets \\d+-\\d+`,
        ),
      );
    } finally {
      await consumer.ensureStopped();
    }
    const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
    assert.equal(lag.totalLag, events.length, "nothing may be committed that was not written");
  });
});

/** Forwards TCP connections on `port` to `target` (host:port) until closed. */
function forward(port: number, target: string): Deno.TcpListener {
  const [hostname, targetPort] = target.split(":");
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    try {
      for await (const inbound of listener) {
        Deno.connect({ hostname, port: Number(targetPort) }).then((outbound) => {
          inbound.readable.pipeTo(outbound.writable).catch(() => {});
          outbound.readable.pipeTo(inbound.writable).catch(() => {});
        }).catch(() => inbound.close());
      }
    } catch {
      // listener closed
    }
  })();
  return listener;
}
