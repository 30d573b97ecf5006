/**
 * `deno task bench:pipeline`: end-to-end figures of `churnctl consume`
 * against the local broker, measured as a user runs it (a child process,
 * at-least-once, gzip, idempotent acks=all output).
 *
 * Phase 1 (throughput): pre-loads N synthetic events (default 200,000) on a
 * fresh 3-partition topic, then runs `consume --mode batch --max-messages N`
 * (fresh group and output topics per run) and reports messages/s from the
 * first fetch to the last commit (the consumer's own clock), the model's
 * share of that time, the consumer's peak RSS, and checks that the output
 * topics hold one record per input message.
 *
 * Phase 2 (latency): a streaming consumer already running, events sent at a
 * steady rate (default 1,000/s); p50/p95/p99 of input broker timestamp →
 * prediction broker timestamp. Topics use `message.timestamp.type=LogAppendTime`
 * so both timestamps are the broker's.
 *
 * Flags: --events N, --runs N (median), --rate N, --seconds N, --skip-latency,
 * --skip-throughput, --json, --brokers, plus any `--consume-arg=--flag=value`
 * passed through to `consume`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { groupLag, withAdmin } from "../src/kafka/admin.ts";
import type { ConnectionSettings } from "../src/kafka/client.ts";
import { openProducer, type OutgoingRecord } from "../src/kafka/producer.ts";
import { readTopic } from "../src/kafka/reader.ts";
import { EventStamper } from "../src/pipeline/events.ts";
import { SyntheticCustomers } from "../src/pipeline/synthetic.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    events: { type: "string", default: "200000" },
    runs: { type: "string", default: "1" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "15" },
    "skip-latency": { type: "boolean", default: false },
    "skip-throughput": { type: "boolean", default: false },
    "consume-arg": { type: "string", multiple: true, default: [] },
    "cpu-prof": { type: "string" },
    json: { type: "boolean", default: false },
    brokers: { type: "string", default: Deno.env.get("CHURNCTL_BROKERS") ?? "127.0.0.1:19092" },
  },
});
const connection: ConnectionSettings = {
  brokers: values.brokers.split(","),
  clientId: "churnctl-bench",
  connectTimeoutMs: 5000,
};
const log = (line: string) => console.error(line);
const id = crypto.randomUUID().slice(0, 8);
const created: string[] = [];

/** Creates topics whose timestamps are set by the broker on append. */
async function createTopics(specs: [string, number][]): Promise<void> {
  await withAdmin(connection, (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: specs.map(([topic, numPartitions]) => ({
        topic,
        numPartitions,
        replicationFactor: 1,
        configEntries: [{ name: "message.timestamp.type", value: "LogAppendTime" }],
      })),
    }));
  created.push(...specs.map(([topic]) => topic));
}

function syntheticRecords(topic: string, count: number, seed: number): OutgoingRecord[] {
  const customers = new SyntheticCustomers({ seed });
  const stamper = new EventStamper(crypto.randomUUID());
  return Array.from({ length: count }, () => ({ topic, ...stamper.customerEvent(customers.next()) }));
}

async function highWatermarkSum(topic: string): Promise<number> {
  const marks = await withAdmin(connection, (admin) => admin.fetchTopicOffsets(topic));
  return marks.reduce((sum, mark) => sum + Number(mark.high), 0);
}

function consumeEnv(input: string, run: string): Record<string, string> {
  return {
    NO_COLOR: "1",
    CHURNCTL_BROKERS: values.brokers,
    CHURNCTL_INPUT_TOPIC: input,
    CHURNCTL_OUTPUT_TOPIC: `bench-${id}-${run}.predictions`,
    CHURNCTL_DEADLETTER_TOPIC: `bench-${id}-${run}.deadletter`,
    CHURNCTL_GROUP: `bench-${id}-${run}`,
  };
}

function consumeCommand(args: string[], env: Record<string, string>) {
  const profile = values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : [];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...profile, `${ROOT}main.ts`, "consume", ...args, ...values["consume-arg"]],
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

interface ThroughputRun {
  messages_per_sec: number;
  busy_sec: number;
  model_share: number;
  peak_rss_mb: number;
  outputs: number;
}

async function throughputRun(input: string, events: number, run: string): Promise<ThroughputRun> {
  const env = consumeEnv(input, run);
  await createTopics([[env.CHURNCTL_OUTPUT_TOPIC, 3], [env.CHURNCTL_DEADLETTER_TOPIC, 1]]);
  // The run report goes to a temporary file, not the user's reports directory.
  const report = await Deno.makeTempFile({ prefix: "churnctl-bench-", suffix: ".json" });
  const child = consumeCommand(
    ["--mode", "batch", "--max-messages", String(events), "--timeout-ms", "30000", "--report", report, "--json"],
    { ...env, CHURNCTL_LOG_LEVEL: "warn" },
  ).spawn();
  const output = await child.output();
  await Deno.remove(report).catch(() => {});
  const text = new TextDecoder().decode(output.stdout).trim();
  if (output.code !== 0 || !text) {
    throw new Error(`consume exited ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  const summary = JSON.parse(text);
  const outputs = await highWatermarkSum(env.CHURNCTL_OUTPUT_TOPIC) +
    await highWatermarkSum(env.CHURNCTL_DEADLETTER_TOPIC);
  if (summary.consumed !== events || outputs !== events) {
    throw new Error(`run ${run}: consumed ${summary.consumed}, wrote ${outputs} records, expected ${events}`);
  }
  return {
    messages_per_sec: summary.messages_per_sec,
    busy_sec: summary.busy_sec,
    model_share: summary.busy_sec > 0 ? Math.round((summary.model_sec / summary.busy_sec) * 1000) / 1000 : 0,
    peak_rss_mb: summary.peak_rss_mb,
    outputs,
  };
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

async function latencyPhase(rate: number, seconds: number) {
  const input = `bench-${id}-latency.raw`;
  await createTopics([[input, 3]]);
  const env = consumeEnv(input, "latency");
  await createTopics([[env.CHURNCTL_OUTPUT_TOPIC, 3], [env.CHURNCTL_DEADLETTER_TOPIC, 1]]);
  const child = consumeCommand(["--mode", "streaming", "--log-level", "info", "--json"], env).spawn();
  const summaryText = new Response(child.stdout).text();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/joined group/.test(seen)) {
    const { value, done } = await stderr.read();
    if (done) throw new Error(`consumer exited before joining:\n${seen}`);
    seen += value;
  }
  const drain = (async () => {
    while (!(await stderr.read()).done) { /* keep the pipe flowing */ }
  })();
  const total = rate * seconds;
  const records = syntheticRecords(input, total, 99);
  const writer = await openProducer(connection);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    if (due > sent) {
      await writer.send(records.slice(sent, due));
      sent = due;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await writer.close();
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const lag = await withAdmin(connection, (admin) => groupLag(admin, env.CHURNCTL_GROUP, input));
    if (lag.partitions.reduce((sum, item) => sum + Math.max(0, item.committed), 0) >= total) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill("SIGINT");
  await child.status;
  await drain;
  const consumerSummary = JSON.parse(await summaryText);
  const [inputs, predictions] = await Promise.all([
    readTopic(connection, input, { idleMs: 3000 }),
    readTopic(connection, env.CHURNCTL_OUTPUT_TOPIC, { idleMs: 3000 }),
  ]);
  const appended = new Map(inputs.map((message) => [`${message.partition}:${message.offset}`, message.timestamp]));
  const latencies: number[] = [];
  for (const prediction of predictions) {
    const source = appended.get(`${prediction.headers["source-partition"]}:${prediction.headers["source-offset"]}`);
    if (source !== undefined) latencies.push(prediction.timestamp - source);
  }
  latencies.sort((a, b) => a - b);
  return {
    rate,
    seconds,
    events: total,
    predictions: predictions.length,
    p50_ms: percentile(latencies, 0.5),
    p95_ms: percentile(latencies, 0.95),
    p99_ms: percentile(latencies, 0.99),
    max_ms: latencies[latencies.length - 1] ?? 0,
    consumer_end_to_end_ms: consumerSummary.latency_ms.end_to_end,
  };
}

const result: Record<string, unknown> = {
  machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno, os: Deno.build.os },
  started_at: new Date().toISOString(),
};
try {
  if (!values["skip-throughput"]) {
    const events = Number(values.events);
    const input = `bench-${id}.raw`;
    await createTopics([[input, 3]]);
    log(`pre-loading ${events} synthetic events on ${input} (3 partitions)…`);
    const writer = await openProducer(connection);
    const records = syntheticRecords(input, events, 42);
    for (let start = 0; start < records.length; start += 10000) await writer.send(records.slice(start, start + 10000));
    await writer.close();
    const runs: ThroughputRun[] = [];
    for (let run = 1; run <= Number(values.runs); run++) {
      const outcome = await throughputRun(input, events, `run${run}`);
      log(
        `run ${run}: ${outcome.messages_per_sec} msg/s (${outcome.busy_sec} s, model ${
          Math.round(outcome.model_share * 100)
        } %, peak RSS ${outcome.peak_rss_mb} MB, ${outcome.outputs} output records)`,
      );
      runs.push(outcome);
    }
    const sorted = [...runs].sort((a, b) => a.messages_per_sec - b.messages_per_sec);
    result.throughput = {
      events,
      partitions: 3,
      median_messages_per_sec: sorted[Math.floor(sorted.length / 2)].messages_per_sec,
      runs,
    };
  }
  if (!values["skip-latency"]) {
    log(`latency: ${values.rate} events/s for ${values.seconds} s into a running consumer…`);
    result.latency = await latencyPhase(Number(values.rate), Number(values.seconds));
  }
} finally {
  await withAdmin(connection, (admin) => admin.deleteTopics({ topics: created })).catch(() => {});
}
if (values.json) {
  console.log(JSON.stringify(result));
} else {
  const throughput = result.throughput as { median_messages_per_sec: number; events: number } | undefined;
  const latency = result.latency as { rate: number; p50_ms: number; p95_ms: number; p99_ms: number } | undefined;
  if (throughput) {
    console.log(
      `throughput: ${throughput.median_messages_per_sec} msg/s end to end (${throughput.events} events, median)`,
    );
  }
  if (latency) {
    console.log(
      `latency at ${latency.rate} events/s (input → prediction broker timestamps): p50 ${latency.p50_ms} ms · p95 ${latency.p95_ms} ms · p99 ${latency.p99_ms} ms`,
    );
  }
}
