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
 * Both phases run once per guarantee in `--guarantees` (default
 * `at-least-once,exactly-once`: the second runs `consume --exactly-once`) and
 * the closing lines put the figures side by side. Exactly-once latency is also
 * given as the consumer's own input timestamp → transaction committed (when a
 * read_committed reader can see the prediction).
 *
 * Flags: --events N, --runs N (median), --rate N, --seconds N, --skip-latency,
 * --skip-throughput, --guarantees LIST, --json, --brokers, plus any
 * `--consume-arg=--flag=value` passed through to `consume`.
 *
 * @module
 */
import { parseScriptArgs } from "./script_args.ts";
import { groupLag, withAdmin } from "../src/kafka/admin.ts";
import type { ConnectionSettings } from "../src/kafka/client.ts";
import { openProducer, type OutgoingRecord } from "../src/kafka/producer.ts";
import { readTopic } from "../src/kafka/reader.ts";
import { EventStamper } from "../src/pipeline/events.ts";
import { SyntheticCustomers } from "../src/pipeline/synthetic.ts";
import { cliV8Flags, loadAverage, saveResult, watchProcess } from "./bench_support.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const values = parseScriptArgs("bench:pipeline", Deno.args, {
  events: { type: "string", default: "200000" },
  runs: { type: "string", default: "3" },
  rate: { type: "string", default: "1000" },
  seconds: { type: "string", default: "15" },
  "skip-latency": { type: "boolean", default: false },
  "skip-throughput": { type: "boolean", default: false },
  guarantees: { type: "string", default: "at-least-once,exactly-once" },
  "consume-arg": { type: "string", multiple: true, default: [] },
  "cpu-prof": { type: "string" },
  json: { type: "boolean", default: false },
  brokers: { type: "string", default: Deno.env.get("CHURNCTL_BROKERS") ?? "127.0.0.1:19092" },
});
const connection: ConnectionSettings = {
  brokers: values.brokers.split(","),
  clientId: "churnctl-bench",
  connectTimeoutMs: 5000,
};
const log = (line: string) => console.error(line);
// The consumer runs with the V8 flags of `deno task churnctl`, as a user runs it.
const v8Flags = await cliV8Flags(ROOT);
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

type Guarantee = "at-least-once" | "exactly-once";
const guarantees = values.guarantees.split(",").map((item) => item.trim()) as Guarantee[];
for (const guarantee of guarantees) {
  if (guarantee !== "at-least-once" && guarantee !== "exactly-once") throw new Error(`unknown guarantee ${guarantee}`);
}

function consumeEnv(input: string, run: string, guarantee: Guarantee = "at-least-once"): Record<string, string> {
  return {
    NO_COLOR: "1",
    CHURNCTL_EXACTLY_ONCE: guarantee === "exactly-once" ? "1" : "0",
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
    args: ["run", "-A", ...v8Flags, ...profile, `${ROOT}main.ts`, "consume", ...args, ...values["consume-arg"]],
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
  /** Consumer CPU time (all threads) per 1,000 messages: steadier than msg/s on a shared machine. */
  cpu_ms_per_1k: number;
}

async function throughputRun(
  input: string,
  events: number,
  run: string,
  guarantee: Guarantee = "at-least-once",
): Promise<ThroughputRun> {
  const env = consumeEnv(input, run, guarantee);
  await createTopics([[env.CHURNCTL_OUTPUT_TOPIC, 3], [env.CHURNCTL_DEADLETTER_TOPIC, 1]]);
  // The run report goes to a temporary file, not the user's reports directory.
  const report = await Deno.makeTempFile({ prefix: "churnctl-bench-", suffix: ".json" });
  const child = consumeCommand(
    ["--mode", "batch", "--max-messages", String(events), "--timeout-ms", "30000", "--report", report, "--json"],
    { ...env, CHURNCTL_LOG_LEVEL: "warn" },
  ).spawn();
  const outputPromise = child.output();
  // The kernel's VmHWM of the consumer process (onnxruntime's native memory included), not a JS-side sample.
  const usage = await watchProcess(child.pid);
  const output = await outputPromise;
  await Deno.remove(report).catch(() => {});
  const text = new TextDecoder().decode(output.stdout).trim();
  if (output.code !== 0 || !text) {
    throw new Error(`consume exited ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  const summary = JSON.parse(text);
  // Transaction markers take offsets too: exactly-once outputs are counted as a read_committed reader sees them.
  const outputs = guarantee === "exactly-once"
    ? (await readTopic(connection, env.CHURNCTL_OUTPUT_TOPIC, { idleMs: 3000 })).length +
      (await readTopic(connection, env.CHURNCTL_DEADLETTER_TOPIC, { idleMs: 3000 })).length
    : await highWatermarkSum(env.CHURNCTL_OUTPUT_TOPIC) + await highWatermarkSum(env.CHURNCTL_DEADLETTER_TOPIC);
  if (summary.consumed !== events || outputs !== events) {
    throw new Error(`run ${run}: consumed ${summary.consumed}, wrote ${outputs} records, expected ${events}`);
  }
  return {
    messages_per_sec: summary.messages_per_sec,
    busy_sec: summary.busy_sec,
    model_share: summary.busy_sec > 0 ? Math.round((summary.model_sec / summary.busy_sec) * 1000) / 1000 : 0,
    peak_rss_mb: usage.peakRssMb || summary.peak_rss_mb,
    cpu_ms_per_1k: Math.round((usage.cpuSec * 1e6 / events) * 10) / 10,
    outputs,
  };
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}

async function latencyPhase(rate: number, seconds: number, guarantee: Guarantee = "at-least-once") {
  const tag = guarantee === "exactly-once" ? "latency-eos" : "latency";
  const input = `bench-${id}-${tag}.raw`;
  await createTopics([[input, 3]]);
  const env = consumeEnv(input, tag, guarantee);
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
  // Every input event must be accounted for by a prediction (the synthetic events are all valid).
  if (latencies.length < total) {
    throw new Error(`latency phase: ${latencies.length} of ${total} events have a prediction`);
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
  load_average_1m: loadAverage(),
};
const byGuarantee = Object.fromEntries(guarantees.map((guarantee) => [guarantee, {}])) as Record<
  string,
  { throughput?: unknown; latency?: unknown }
>;
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
    for (const guarantee of guarantees) {
      const runs: ThroughputRun[] = [];
      for (let run = 1; run <= Number(values.runs); run++) {
        const outcome = await throughputRun(input, events, `${guarantee}-run${run}`, guarantee);
        log(
          `${guarantee} run ${run}: ${outcome.messages_per_sec} msg/s (${outcome.busy_sec} s, model ${
            Math.round(outcome.model_share * 100)
          } %, peak RSS ${outcome.peak_rss_mb} MB, CPU ${outcome.cpu_ms_per_1k} ms/1k msgs, ${outcome.outputs} output records)`,
        );
        runs.push(outcome);
      }
      const sorted = [...runs].sort((a, b) => a.messages_per_sec - b.messages_per_sec);
      byGuarantee[guarantee].throughput = {
        events,
        partitions: 3,
        median_messages_per_sec: sorted[Math.floor(sorted.length / 2)].messages_per_sec,
        median_model_share: median(runs.map((run) => run.model_share)),
        max_peak_rss_mb: Math.max(...runs.map((run) => run.peak_rss_mb)),
        median_cpu_ms_per_1k: median(runs.map((run) => run.cpu_ms_per_1k)),
        runs,
      };
    }
  }
  if (!values["skip-latency"]) {
    for (const guarantee of guarantees) {
      log(`${guarantee} latency: ${values.rate} events/s for ${values.seconds} s into a running consumer…`);
      byGuarantee[guarantee].latency = await latencyPhase(Number(values.rate), Number(values.seconds), guarantee);
    }
  }
  // The at-least-once figures stay where earlier result files had them.
  result.throughput = byGuarantee["at-least-once"]?.throughput;
  result.latency = byGuarantee["at-least-once"]?.latency;
  result.guarantees = byGuarantee;
} finally {
  await withAdmin(connection, (admin) => admin.deleteTopics({ topics: created })).catch(() => {});
}
const saved = await saveResult(ROOT, "pipeline", result);
log(`results: ${saved}`);
if (values.json) {
  console.log(JSON.stringify(result));
} else {
  type Throughput = {
    median_messages_per_sec: number;
    events: number;
    median_model_share: number;
    max_peak_rss_mb: number;
    median_cpu_ms_per_1k: number;
  };
  type Latency = {
    rate: number;
    p50_ms: number;
    p95_ms: number;
    p99_ms: number;
    consumer_end_to_end_ms: { p99: number };
  };
  for (const guarantee of guarantees) {
    const throughput = byGuarantee[guarantee].throughput as Throughput | undefined;
    const latency = byGuarantee[guarantee].latency as Latency | undefined;
    const parts = [guarantee.padEnd(13)];
    if (throughput) {
      parts.push(
        `${throughput.median_messages_per_sec} msg/s (${throughput.events} events, median of ${values.runs}) · ` +
          `model ${Math.round(throughput.median_model_share * 100)} % · peak RSS ${throughput.max_peak_rss_mb} MB · ` +
          `CPU ${throughput.median_cpu_ms_per_1k} ms/1k msgs`,
      );
    }
    if (latency) {
      parts.push(
        `latency at ${latency.rate} events/s p50 ${latency.p50_ms} · p95 ${latency.p95_ms} · p99 ${latency.p99_ms} ms ` +
          `(broker timestamps) · p99 ${latency.consumer_end_to_end_ms.p99} ms to committed`,
      );
    }
    console.log(parts.join(" | "));
  }
}
