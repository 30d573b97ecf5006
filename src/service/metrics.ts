/**
 * Prometheus metrics of a running consumer, built on prom-client (the
 * metrics library most Node services use; it runs unchanged under Deno).
 * Each {@link ServiceMetrics} owns its own registry — no global default
 * registry — so two consumers in one test process never share counters.
 *
 * Names follow the Prometheus conventions: a `churnctl_` prefix, `_total` on
 * counters, base units (seconds) on durations.
 *
 * @module
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BatchOutcome } from "../pipeline/process.ts";
import type { BatchTiming } from "../pipeline/stats.ts";

/** What one completed batch (written and committed) amounted to, as plain values. */
export interface BatchMetrics {
  /** Messages read from the input topic in this batch. */
  consumed: number;
  /** Predictions written. */
  predicted: number;
  /** Of those, predictions that said the customer churns. */
  churned: number;
  /** Dead letters written, by reason code. */
  deadLetters: Readonly<Record<string, number>> | ReadonlyMap<string, number>;
  /** Messages in the batch (the batch-size histogram). @default consumed */
  batchSize?: number;
  /** Time of the one model call of the batch, in ms. */
  inferenceMs: number;
  /** Per message: broker timestamp of the input event → prediction committed, in ms. */
  endToEndMs: ArrayLike<number>;
}

/** Versions shown by the info gauges. */
export interface ServiceInfo {
  /** churnctl release. */
  version: string;
  /** Deno version. @default Deno.version.deno */
  deno?: string;
  /** Model version, when the model is already loaded. */
  model?: string;
}

/** Options of {@link ServiceMetrics}. */
export interface ServiceMetricsOptions {
  /** Also export process CPU, memory, file descriptors and event-loop lag (unprefixed standard names). @default true */
  processMetrics?: boolean;
  /** How many recent predictions the churn-rate gauge covers. @default 1000 */
  churnWindow?: number;
}

/** A readiness report as the metrics show it: overall and per check. */
export interface ReadinessView {
  /** True when every check passes. */
  ready: boolean;
  /** Each check by name (`broker`, `partitions`, `model`, …) and whether it passes. */
  checks: Readonly<Record<string, boolean>>;
}

/** Messages per batch: from single messages up to kafkajs's largest fetches. */
export const BATCH_SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Event age at commit, in seconds: 5 ms (a quiet stream) to 10 min (a consumer catching up on a backlog). */
export const END_TO_END_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600];
/** One model call, in seconds: ~0.1 ms for a single row up to 1 s for a huge batch. */
export const INFERENCE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The consumer's metrics. The consumer calls {@link recordBatch} (or
 * {@link observeBatch}, the pipeline's `BatchObserver` shape) after each
 * commit, {@link recordError} on each failure, {@link setLag} and
 * {@link setAssigned} on each lag poll and rebalance; {@link render} is what
 * `GET /metrics` returns.
 *
 * @example
 * ```ts
 * const metrics = new ServiceMetrics({ version: "0.1.0" }, { processMetrics: false });
 * metrics.recordBatch({ consumed: 2, predicted: 2, churned: 1, deadLetters: {}, inferenceMs: 1.5, endToEndMs: [40, 41] });
 * const text = await metrics.render();
 * ```
 */
export class ServiceMetrics {
  #registry = new Registry();
  #consumed: Counter;
  #predicted: Counter;
  #churned: Counter;
  #deadLetters: Counter<"reason">;
  #batches: Counter;
  #errors: Counter<"kind">;
  #batchSize: Histogram;
  #endToEnd: Histogram;
  #inference: Histogram;
  #lag: Gauge<"topic" | "partition">;
  #assigned: Gauge;
  #churnRate: Gauge;
  #modelInfo: Gauge<"version">;
  #lastBatch: Gauge;
  #window: { predicted: number; churned: number }[] = [];
  #windowPredicted = 0;
  #windowChurned = 0;
  #windowSize: number;
  #readiness: (() => ReadinessView) | undefined;

  constructor(info: ServiceInfo, options: ServiceMetricsOptions = {}) {
    const registers = [this.#registry];
    this.#windowSize = options.churnWindow ?? 1000;
    this.#consumed = new Counter({
      name: "churnctl_messages_consumed_total",
      help: "Messages read from the input topic and committed",
      registers,
    });
    this.#predicted = new Counter({
      name: "churnctl_predictions_total",
      help: "Predictions written to the output topic",
      registers,
    });
    this.#churned = new Counter({
      name: "churnctl_predicted_churn_total",
      help: "Predictions that said the customer churns",
      registers,
    });
    this.#deadLetters = new Counter({
      name: "churnctl_dead_letters_total",
      help: "Messages written to the dead-letter topic, by reason code",
      labelNames: ["reason"] as const,
      registers,
    });
    this.#batches = new Counter({
      name: "churnctl_batches_total",
      help: "Batches written and committed",
      registers,
    });
    this.#errors = new Counter({
      name: "churnctl_errors_total",
      help: "Errors by kind (broker, commit, produce, model, …)",
      labelNames: ["kind"] as const,
      registers,
    });
    this.#batchSize = new Histogram({
      name: "churnctl_batch_size_messages",
      help: "Messages per committed batch",
      buckets: BATCH_SIZE_BUCKETS,
      registers,
    });
    this.#endToEnd = new Histogram({
      name: "churnctl_end_to_end_latency_seconds",
      help: "Per message: input event's broker timestamp to its prediction committed",
      buckets: END_TO_END_BUCKETS,
      registers,
    });
    this.#inference = new Histogram({
      name: "churnctl_model_inference_seconds",
      help: "Duration of one model call (one per batch)",
      buckets: INFERENCE_BUCKETS,
      registers,
    });
    this.#lag = new Gauge({
      name: "churnctl_consumer_lag_messages",
      help: "High watermark minus the group's committed offset, per input topic-partition",
      labelNames: ["topic", "partition"] as const,
      registers,
    });
    this.#assigned = new Gauge({
      name: "churnctl_assigned_partitions",
      help: "Input partitions assigned to this consumer",
      registers,
    });
    this.#churnRate = new Gauge({
      name: "churnctl_predicted_churn_rate",
      help: `Share of the last ${this.#windowSize} predictions that said churn (0..1)`,
      registers,
    });
    this.#lastBatch = new Gauge({
      name: "churnctl_last_batch_timestamp_seconds",
      help: "Unix time the last batch was committed (alert when it stops moving while lag grows)",
      registers,
    });
    new Gauge({
      name: "churnctl_build_info",
      help: "Always 1; labels carry the churnctl and Deno versions",
      labelNames: ["version", "deno"] as const,
      registers,
    }).set({ version: info.version, deno: info.deno ?? Deno.version.deno }, 1);
    this.#modelInfo = new Gauge({
      name: "churnctl_model_info",
      help: "Always 1 once the model is loaded; the label carries its version",
      labelNames: ["version"] as const,
      registers,
    });
    if (info.model !== undefined) this.setModel(info.model);
    // collect() reads the readiness state at scrape time, so the gauge is never stale.
    const readReadiness = () => this.#readiness?.();
    new Gauge({
      name: "churnctl_ready",
      help: "1 when /ready answers 200, else 0",
      registers,
      collect(this: Gauge) {
        const view = readReadiness();
        if (view) this.set(view.ready ? 1 : 0);
      },
    });
    new Gauge({
      name: "churnctl_ready_check",
      help: "1 when the named readiness check passes, else 0",
      labelNames: ["check"] as const,
      registers,
      collect(this: Gauge<"check">) {
        const view = readReadiness();
        if (!view) return;
        this.reset();
        for (const [check, ok] of Object.entries(view.checks)) this.set({ check }, ok ? 1 : 0);
      },
    });
    // prom-client's process_resident_memory_bytes reads /proc/self/status, which Deno 2.9 opens only under
    // --allow-all; churnctl runs with narrow permissions, so its own RSS gauge asks Deno.
    new Gauge({
      name: "churnctl_process_resident_memory_bytes",
      help: "Resident set size of the churnctl process, in bytes",
      registers,
      collect(this: Gauge) {
        this.set(Deno.memoryUsage().rss);
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.#registry });
  }

  /** Adds one committed batch to the counters, histograms and churn-rate window. */
  recordBatch(batch: BatchMetrics): void {
    this.#consumed.inc(batch.consumed);
    this.#predicted.inc(batch.predicted);
    this.#churned.inc(batch.churned);
    this.#batches.inc();
    const reasons = batch.deadLetters instanceof Map
      ? batch.deadLetters
      : Object.entries(batch.deadLetters as Record<string, number>);
    for (const [reason, count] of reasons) {
      if (count > 0) this.#deadLetters.inc({ reason }, count);
    }
    this.#batchSize.observe(batch.batchSize ?? batch.consumed);
    this.#inference.observe(Math.max(0, batch.inferenceMs) / 1000);
    for (let index = 0; index < batch.endToEndMs.length; index++) {
      this.#endToEnd.observe(Math.max(0, batch.endToEndMs[index]) / 1000);
    }
    this.#lastBatch.set(Date.now() / 1000);
    this.#slideWindow(batch.predicted, batch.churned);
  }

  /** The pipeline's `BatchObserver` shape: a {@link BatchOutcome} whose commit returned at `timing.completedAt`. */
  observeBatch(outcome: BatchOutcome, timing: BatchTiming): void {
    const endToEndMs = new Float64Array(outcome.timestamps.length);
    for (let index = 0; index < endToEndMs.length; index++) {
      endToEndMs[index] = timing.completedAt - outcome.timestamps[index];
    }
    this.recordBatch({
      consumed: outcome.size,
      predicted: outcome.predicted,
      churned: outcome.churned,
      deadLetters: outcome.deadLetters,
      inferenceMs: outcome.inferenceMs,
      endToEndMs,
    });
  }

  /** Counts one error of `kind` (a short stable word: `broker`, `commit`, `produce`, `model`, `rebalance`). */
  recordError(kind: string): void {
    this.#errors.inc({ kind });
  }

  /** Sets the lag of one input topic-partition, in messages. */
  setLag(topic: string, partition: number, lag: number): void {
    this.#lag.set({ topic, partition: String(partition) }, lag);
  }

  /** Replaces the lag of every partition of `topic`, so a partition no longer assigned stops being reported. */
  setTopicLag(topic: string, lags: readonly { partition: number; lag: number }[]): void {
    this.#lag.reset();
    for (const { partition, lag } of lags) this.setLag(topic, partition, lag);
  }

  /** Sets the number of input partitions assigned to this consumer. */
  setAssigned(count: number): void {
    this.#assigned.set(count);
  }

  /** Records the loaded model's version in `churnctl_model_info`. */
  setModel(version: string): void {
    this.#modelInfo.reset();
    this.#modelInfo.set({ version }, 1);
  }

  /** Makes `churnctl_ready` and `churnctl_ready_check` read `view` at each scrape. */
  trackReadiness(view: () => ReadinessView): void {
    this.#readiness = view;
  }

  /** The text exposition format, as `GET /metrics` serves it. */
  render(): Promise<string> {
    return this.#registry.metrics();
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  #slideWindow(predicted: number, churned: number): void {
    if (predicted <= 0) return;
    this.#window.push({ predicted, churned });
    this.#windowPredicted += predicted;
    this.#windowChurned += churned;
    // Drop whole old batches while the rest still covers the window; the newest batch always stays.
    while (this.#window.length > 1 && this.#windowPredicted - this.#window[0].predicted >= this.#windowSize) {
      const old = this.#window.shift()!;
      this.#windowPredicted -= old.predicted;
      this.#windowChurned -= old.churned;
    }
    this.#churnRate.set(this.#windowChurned / this.#windowPredicted);
  }
}
