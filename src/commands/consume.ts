/**
 * `churnctl consume`: scores the input topic in batches and writes a
 * prediction or a dead letter for every message, at least once.
 *
 * Per batch: decode → validate → score (one model call) → send predictions
 * and dead letters (acks=all, idempotent, gzip) → await the acknowledgement
 * → only then commit the batch's offsets. A crash repeats work, never loses
 * it. A bad message becomes a dead letter and the partition moves on; an
 * output that cannot be written stops the consumer without committing.
 *
 * This module wires `src/kafka/` (input, output, commit step), `src/model/`
 * (the scorer) and `src/pipeline/` (the batch processor and statistics).
 *
 * @module
 */
import { helpText, loggerFrom, printJson, printOut } from "../cli.ts";
import { CLUSTER_OPTIONS, clusterConfig, COMMON_OPTIONS, type OptionValues, parseOptions } from "../config.ts";
import { ChurnctlError, EXIT_OK, oneLine } from "../errors.ts";
import {
  atLeastOnce,
  type BatchConsumer,
  type ConsumedBatch,
  openBatchConsumer,
  OutOfOrderAckError,
  RebalanceCommitError,
} from "../kafka/consumer.ts";
import { groupLag, withAdmin } from "../kafka/admin.ts";
import { BROKER_RESTART_RETRIES, openProducer, type RecordWriter } from "../kafka/producer.ts";
import { type ExactlyOnceStep, openExactlyOnce } from "../kafka/transactions.ts";
import { EXACTLY_ONCE_OPTION, guaranteeOf, TRANSACTION_OPTIONS, transactionalIdFor } from "../delivery.ts";
import type { Logger } from "../log.ts";
import { loadScorer } from "../model/scorer.ts";
import { DEFAULT_MAX_EVENT_BYTES } from "../pipeline/decode.ts";
import { BatchProcessor } from "../pipeline/process.ts";
import type { Scorer } from "../pipeline/score.ts";
import { type BatchObserver, RunStats, type StatsSnapshot } from "../pipeline/stats.ts";
import { buildRunReport, defaultReportPath, type StopReason, writeRunReport } from "../report/run_report.ts";
import { parseListenAddress } from "../service/http.ts";
import { ConsumerMonitor } from "../service/monitor.ts";
import { SERVICE_OPTIONS } from "../service/options.ts";
import { drainWithin } from "../service/shutdown.ts";
import { VERSION } from "../version.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CLUSTER_OPTIONS,
  ...SERVICE_OPTIONS,
  ...EXACTLY_ONCE_OPTION,
  ...TRANSACTION_OPTIONS,
  mode: {
    kind: "enum",
    choices: ["streaming", "batch"],
    default: "streaming",
    help: "streaming: until SIGINT/SIGTERM; batch: until idle for --timeout-ms or --max-messages, then a report",
  },
  "timeout-ms": {
    kind: "int",
    default: 10000,
    min: 1,
    max: 86400000,
    help: "batch mode: stop after this long without a message",
  },
  "max-messages": { kind: "int", min: 1, help: "stop after this many messages (both modes)" },
  report: { kind: "string", help: "batch mode: run report path (default <reports-dir>/consume-<time>.json)" },
  model: { kind: "string", help: "ONNX model to use instead of the bundled one" },
  "batch-size": {
    kind: "int",
    default: 2000,
    min: 1,
    max: 100000,
    help: "most messages scored and committed together",
  },
  "fetch-max-bytes": {
    kind: "int",
    default: 4 * 1024 * 1024,
    min: 1024,
    help: "most bytes fetched at once, all partitions (bounds memory with many partitions)",
  },
  "partition-max-bytes": {
    kind: "int",
    default: 128 * 1024,
    min: 1024,
    help: "most bytes fetched at once from one partition (compressed: 128 KiB of gzip is ~2,500 events)",
  },
  "max-wait-ms": {
    kind: "int",
    default: 5,
    min: 0,
    max: 60000,
    help: "how long the broker holds a fetch that has no data, and the pause between fetches while all are paused",
  },
  concurrency: { kind: "int", default: 3, min: 1, max: 256, help: "batches (partitions) in flight at once" },
  "max-in-flight-bytes": {
    kind: "int",
    default: 16 * 1024 * 1024,
    min: 1024,
    help: "pause fetching while batches in hand hold more than this many key+value bytes (bounds memory)",
  },
  "session-timeout-ms": {
    kind: "int",
    default: 30000,
    min: 6000,
    max: 300000,
    help: "group session timeout: how soon the partitions of a crashed member move to another",
  },
  "max-event-bytes": {
    kind: "int",
    default: DEFAULT_MAX_EVENT_BYTES,
    min: 64,
    help: "larger message values are dead-lettered as too_large",
  },
  "progress-every": { kind: "int", default: 50000, min: 1, help: "progress line on stderr every N messages" },
  "progress-interval-ms": {
    kind: "int",
    default: 10000,
    min: 100,
    help: "progress line on stderr at least this often (streaming)",
  },
} as const;

/** Parsed arguments of `churnctl consume`. */
export type ConsumeArgs = OptionValues<typeof OPTIONS> & { env: Record<string, string | undefined> };

/** One line for the command list. */
export const summary = "score the input topic in batches: predictions + dead letters, at least once";

/** Help text of `churnctl consume`. */
export const help = helpText(
  "consume [--mode streaming|batch] [flags]",
  `Reads the input topic in a consumer group (from the earliest offset when the
group has none), scores each batch with one model call, writes a prediction per
valid event and a dead letter (original bytes + dlq-* headers with a reason
code) per message that cannot be scored, and commits the batch's offsets only
after the broker acknowledged all of its output (at-least-once).

--exactly-once (CHURNCTL_EXACTLY_ONCE=1) writes the outputs and commits the
input offsets in one Kafka transaction instead: a read_committed reader sees
each input's output once, whatever crashes. The transactional.id is
churnctl-<group>-<instance id>; each member running at once needs its own
--instance-id, and a restarted member with the same one fences its zombie.

--mode streaming runs until SIGINT/SIGTERM, then finishes the batches in hand,
commits, disconnects and prints a summary. Progress goes to stderr.
--mode batch stops after --timeout-ms without a message or at --max-messages,
writes a JSON run report and exits 0.
Exit 1 (one line) when the output cannot be written: nothing is committed then.`,
  OPTIONS,
);

/** Parses the command line of `churnctl consume`. */
export function parse(argv: string[], env: Record<string, string | undefined>): ConsumeArgs {
  const { values } = parseOptions(argv, OPTIONS, env, "consume");
  if (values["metrics-addr"] !== undefined) parseListenAddress(values["metrics-addr"]);
  return { ...values, env };
}

/** Progress on stderr every N messages or T milliseconds: counts, rate and lag. */
class ProgressReporter implements BatchObserver {
  #log: Logger;
  #stats: RunStats;
  #source: () => BatchConsumer | undefined;
  #committedLag: () => Record<string, number> | undefined;
  #every: number;
  #lastCount = 0;
  #lastAt = Date.now();

  constructor(
    log: Logger,
    stats: RunStats,
    source: () => BatchConsumer | undefined,
    every: number,
    committedLag: () => Record<string, number> | undefined = () => undefined,
  ) {
    this.#log = log;
    this.#stats = stats;
    this.#source = source;
    this.#committedLag = committedLag;
    this.#every = every;
  }

  observeBatch(): void {
    if (this.#stats.consumed - this.#lastCount >= this.#every) this.report();
  }

  /** Writes one progress line. */
  report(): void {
    const now = Date.now();
    const snapshot = this.#stats.snapshot();
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    const state = this.#source()?.state();
    const lag = state ? [...state.lag.values()].reduce((sum, value) => sum + value, 0) : undefined;
    this.#log.info("progress", {
      consumed: snapshot.consumed,
      predicted: snapshot.predicted,
      dead_lettered: snapshot.dead_lettered,
      rate: Math.round((snapshot.consumed - this.#lastCount) / seconds),
      lag,
      partitions: state?.assigned.join(",") ?? "",
      // From the group's committed offsets and the high watermarks (what `health` and /metrics show).
      lag_by_partition: this.#committedLag(),
    });
    this.#lastCount = snapshot.consumed;
    this.#lastAt = now;
  }
}

/** Runs the consumer; exit 0 after a clean stop. */
export async function run(args: ConsumeArgs): Promise<number> {
  const log = loggerFrom(args, "consume");
  const cluster = clusterConfig(args, args.env, (message) => log.warn(message));
  const startedAt = new Date();
  const batchMode = args.mode === "batch";
  const stop = new AbortController();
  let stopReason: StopReason | undefined;
  let source: BatchConsumer | undefined;
  // Metrics, /healthz, /ready and committed lag: always in streaming mode, in batch mode only with --metrics-addr.
  const monitor = batchMode && args["metrics-addr"] === undefined ? undefined : new ConsumerMonitor({
    topic: cluster.topics.input,
    version: VERSION,
    address: args["metrics-addr"] === undefined ? undefined : parseListenAddress(args["metrics-addr"]),
    readLag: () =>
      withAdmin(cluster.connection, (admin) => groupLag(admin, cluster.group, cluster.topics.input), {
        // A couple of retries: groupLag's parallel requests can race kafkajs's first metadata refresh.
        retries: 2,
        deadlineMs: cluster.connection.connectTimeoutMs,
      }),
    assigned: () => source?.state().assigned ?? [],
    intervalMs: args["lag-interval-ms"],
    log: log.child("service"),
  });
  const shutdownMs = args["shutdown-timeout"] * 1000;
  let stopAt: number | undefined;
  const forced = Promise.withResolvers<void>();
  const stopped = new Promise<void>((resolve) =>
    stop.signal.addEventListener("abort", () => resolve(), { once: true })
  );
  const remainingMs = () => Math.max(0, shutdownMs - (performance.now() - (stopAt ?? performance.now())));
  const onSignal = (signal: Deno.Signal) => () => {
    if (stop.signal.aborted) {
      log.warn(`${signal} again: not waiting any longer for the batches in hand`);
      forced.resolve();
      return;
    }
    log.info(
      `${signal}: finishing the batches in hand, then committing and stopping (at most ${args["shutdown-timeout"]} s)`,
    );
    stopReason = "signal";
    stopAt = performance.now();
    monitor?.markStopping();
    stop.abort();
  };
  // Before anything connects, so /ready answers 503 while the broker and the model are not there yet.
  monitor?.start();
  const signals: [Deno.Signal, () => void][] = [["SIGINT", onSignal("SIGINT")], ["SIGTERM", onSignal("SIGTERM")]];
  for (const [signal, handler] of signals) Deno.addSignalListener(signal, handler);

  let scorer: (Scorer & { close(): Promise<void> }) | undefined;
  let writer: RecordWriter | undefined;
  let transactional: ExactlyOnceStep | undefined;
  const stats = new RunStats();
  const progress = new ProgressReporter(
    log,
    stats,
    () => source,
    args["progress-every"],
    () => monitor?.lagByPartition(),
  );
  const observers: BatchObserver[] = monitor ? [stats, progress, monitor] : [stats, progress];
  let failure: unknown;
  let peakRss = 0;
  const sampleRss = () => peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  // Batches in hand when the shutdown timeout passed: released uncommitted, named in the exit message.
  const holding = new Map<Promise<void>, ConsumedBatch>();
  let abandoned: string[] = [];
  let closeTimedOut = false;
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    scorer = await loadScorer({ modelPath: args.model });
    monitor?.markModelLoaded(scorer.version);
    if (args["exactly-once"]) {
      transactional = await openExactlyOnce(cluster.connection, {
        transactionalId: transactionalIdFor(cluster.group, args["instance-id"]),
        group: cluster.group,
        maxBatches: args["transaction-max-batches"],
        intervalMs: args["transaction-interval-ms"],
        retries: args["transaction-retries"],
        logger: log.child("transactions"),
      });
    } else {
      writer = await openProducer(cluster.connection, {
        logger: log.child("producer"),
        retries: BROKER_RESTART_RETRIES,
      });
    }
    const step = transactional ?? atLeastOnce(writer!);
    const processor = new BatchProcessor({
      scorer,
      topics: { predictions: cluster.topics.output, deadletter: cluster.topics.deadletter },
      maxEventBytes: args["max-event-bytes"],
    });
    source = await openBatchConsumer(cluster.connection, {
      topic: cluster.topics.input,
      group: cluster.group,
      maxBatchMessages: args["batch-size"],
      fetchMaxBytes: args["fetch-max-bytes"],
      partitionMaxBytes: args["partition-max-bytes"],
      maxWaitMs: args["max-wait-ms"],
      concurrency: args.concurrency,
      maxInFlightBytes: args["max-in-flight-bytes"],
      sessionTimeoutMs: args["session-timeout-ms"],
      logger: log.child("consumer"),
    });
    // Exactly-once: batches are tracked in read order per partition and only the transaction commits them.
    if (transactional) source = transactional.track(source);
    monitor?.markConnected();
    log.info(
      `consuming ${cluster.topics.input} as group ${cluster.group} (${args.mode} mode, model ${scorer.version})`,
    );
    if (!batchMode) ticker = setInterval(() => progress.report(), args["progress-interval-ms"]);

    const handle = async (batch: ConsumedBatch, count: number) => {
      stats.markFetched(batch.fetchedAt);
      const input = count < batch.messages.length ? { ...batch, messages: batch.messages.slice(0, count) } : batch;
      let processed;
      try {
        processed = await processor.process(input);
        await step.complete(batch, processed.records, count);
      } catch (error) {
        batch.release();
        if (error instanceof RebalanceCommitError || error instanceof OutOfOrderAckError) {
          // Written but not committed (the commit was refused, or an earlier batch of the partition was not
          // committed): it is delivered again later (a duplicate, never a loss), so the consumer goes on.
          log.warn(error.message);
          return;
        }
        throw error;
      }
      const timing = { fetchedAt: batch.fetchedAt, completedAt: Date.now() };
      for (const observer of observers) observer.observeBatch(processed.outcome, timing);
      sampleRss();
    };

    const inFlight = new Set<Promise<void>>();
    let claimed = 0;
    let lastMessageAt = Date.now();
    const limit = args["max-messages"];
    while (!stop.signal.aborted && failure === undefined) {
      monitor?.tick();
      if (limit !== undefined && claimed >= limit) {
        stopReason = "max_messages";
        break;
      }
      const waitMs = batchMode ? Math.max(0, args["timeout-ms"] - (Date.now() - lastMessageAt)) : 1000;
      if (batchMode && waitMs === 0 && inFlight.size === 0) {
        stopReason = "idle_timeout";
        break;
      }
      const batch = await source.read({ timeoutMs: Math.max(1, Math.min(waitMs, 1000)), signal: stop.signal });
      if (!batch) continue;
      lastMessageAt = Date.now();
      const count = limit === undefined ? batch.messages.length : Math.min(batch.messages.length, limit - claimed);
      claimed += count;
      const task: Promise<void> = handle(batch, count)
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => {
          inFlight.delete(task);
          holding.delete(task);
        });
      inFlight.add(task);
      holding.set(task, batch);
      // A signal must not wait for a slot: the shutdown budget starts now and is spent draining below.
      if (inFlight.size >= args.concurrency) await Promise.race([...inFlight, stopped]);
    }
    if (stopAt === undefined) {
      await Promise.all(inFlight);
    } else {
      const drained = await drainWithin(Promise.all(inFlight), remainingMs(), forced.promise);
      if (!drained.finished) {
        abandoned = [...holding.values()].map(describeBatch);
        // Released batches never commit, even if their output is acknowledged later: nothing committed unwritten.
        for (const batch of holding.values()) batch.release();
      }
    }
  } catch (error) {
    failure ??= error;
  } finally {
    clearInterval(ticker);
    for (const [signal, handler] of signals) Deno.removeSignalListener(signal, handler);
    await monitor?.close();
    const closing = (async () => {
      await source?.close();
      await writer?.close();
      await transactional?.close();
      await scorer?.close().catch(() => {});
    })();
    if (stopAt === undefined) {
      await closing;
    } else {
      // Past the budget (or forced), still give the client a moment to leave the group cleanly.
      const closed = await drainWithin(
        closing,
        Math.max(remainingMs(), abandoned.length > 0 ? 1000 : 0),
        forced.promise,
      );
      closeTimedOut = !closed.finished;
    }
  }
  if (abandoned.length > 0) {
    throw new ChurnctlError(
      `shutdown: --shutdown-timeout ${args["shutdown-timeout"]} s passed with ${abandoned.length} batch(es) in hand; ` +
        `abandoned uncommitted (they will be consumed again): ${abandoned.join(", ")}; ${
          describeCounts(stats.snapshot())
        } committed`,
    );
  }
  if (closeTimedOut) {
    throw new ChurnctlError(
      `shutdown: every batch in hand was committed, but disconnecting passed --shutdown-timeout ${
        args["shutdown-timeout"]
      } s; ${describeCounts(stats.snapshot())}`,
    );
  }
  const snapshot = stats.snapshot();
  if (failure !== undefined) {
    log.error(`stopped without committing the failed batch; ${describeCounts(snapshot)}`);
    if (failure instanceof ChurnctlError) throw failure;
    throw new ChurnctlError(`consume failed: ${oneLine(failure)}`);
  }
  const endedAt = new Date();
  const reason = stopReason ?? (batchMode ? "idle_timeout" : "signal");
  let reportPath: string | undefined;
  const report = buildRunReport({
    mode: args.mode,
    guarantee: guaranteeOf(args["exactly-once"]),
    stopped_by: reason,
    model_version: scorer?.version ?? "unknown",
    group: cluster.group,
    topics: { input: cluster.topics.input, predictions: cluster.topics.output, deadletter: cluster.topics.deadletter },
    started_at: startedAt.toISOString(),
    ended_at: endedAt.toISOString(),
  }, snapshot);
  if (batchMode || args.report !== undefined) {
    reportPath = args.report ?? defaultReportPath(cluster.reportsDir, startedAt);
    await writeRunReport(reportPath, report);
  }
  if (args.json) {
    printJson({
      ok: true,
      ...report,
      peak_rss_mb: Math.round(sampleRss() / 1024 / 1024),
      report_path: reportPath ?? null,
    });
  } else {
    printOut(describeSummary(report.mode, reason, snapshot, reportPath));
  }
  return EXIT_OK;
}

/** `topic[partition] offsets first-last`, for the shutdown message. */
function describeBatch(batch: ConsumedBatch): string {
  const first = batch.messages[0]?.offset;
  const last = batch.messages[batch.messages.length - 1]?.offset;
  return `${batch.topic}[${batch.partition}] offsets ${first}-${last}`;
}

function describeCounts(snapshot: StatsSnapshot): string {
  return `consumed ${snapshot.consumed}, predicted ${snapshot.predicted}, dead-lettered ${snapshot.dead_lettered}`;
}

function describeSummary(mode: string, reason: StopReason, snapshot: StatsSnapshot, reportPath?: string): string {
  const reasons = Object.entries(snapshot.dead_letter_reasons).map(([name, count]) => `${name} ${count}`).join(", ");
  const e2e = snapshot.latency_ms.end_to_end;
  const lines = [
    `${mode} run stopped by ${reason.replace("_", " ")}: ${describeCounts(snapshot)}${reasons ? ` (${reasons})` : ""}`,
    `churn rate ${
      (snapshot.churn_rate * 100).toFixed(1)
    } % · ${snapshot.messages_per_sec} msg/s over ${snapshot.busy_sec} s`,
    `latency ms (input timestamp → committed): p50 ${e2e.p50} · p95 ${e2e.p95} · p99 ${e2e.p99} · model ${snapshot.latency_ms.inference.mean} ms/record`,
  ];
  if (reportPath) lines.push(`report: ${reportPath}`);
  return lines.join("\n");
}
