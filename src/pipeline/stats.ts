/**
 * Run statistics: counts, churn rate, probability histogram, latency
 * percentiles, dead-letter reasons and offset ranges. Memory is bounded
 * whatever the run length: latencies go into log-scale buckets (1 %
 * precision), never into an ever-growing array.
 *
 * {@link RunStats} is one {@link BatchObserver}; metrics (Prometheus) can be
 * another, fed by the same calls.
 *
 * @module
 */
import type { BatchOutcome } from "./process.ts";

/** When a batch was handed over and when its commit returned, ms since the epoch. */
export interface BatchTiming {
  /** Handed over by the input. */
  fetchedAt: number;
  /** Output acknowledged and offsets committed. */
  completedAt: number;
}

/** Something told about every batch once its output is written and its offsets committed (stats, metrics). */
export interface BatchObserver {
  /** Called once per completed batch. */
  observeBatch(outcome: BatchOutcome, timing: BatchTiming): void;
}

/** p50/p95/p99/max of a latency, in ms. */
export interface Percentiles {
  /** Number of values. */
  count: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** Largest value. */
  max: number;
  /** Mean. */
  mean: number;
}

// Bucket i holds values in [GROWTH^(i-1), GROWTH^i) × MIN_MS: 1 % wide, from 1 µs to ~ 3 hours in ~2,300 buckets.
const GROWTH = 1.01;
const MIN_MS = 0.001;
const BUCKETS = 2400;
const LOG_GROWTH = Math.log(GROWTH);

/** A latency histogram with 1 % relative precision and fixed memory. */
export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Records one value (ms); negatives (clock skew) count as 0. */
  record(ms: number): void {
    const value = ms > 0 ? ms : 0;
    const index = value <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(value / MIN_MS) / LOG_GROWTH));
    this.#counts[index]++;
    this.#count++;
    this.#sum += value;
    if (value > this.#max) this.#max = value;
  }

  /** Records the same value `times` times. */
  recordMany(ms: number, times: number): void {
    for (let index = 0; index < times; index++) this.record(ms);
  }

  /** Number of values recorded. */
  get count(): number {
    return this.#count;
  }

  /** The value below which `fraction` of the values fall (upper bound of its bucket, capped at the max). */
  quantile(fraction: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.#count));
    let seen = 0;
    for (let index = 0; index < BUCKETS; index++) {
      seen += this.#counts[index];
      if (seen >= rank) return Math.min(this.#max, index === 0 ? MIN_MS : MIN_MS * GROWTH ** index);
    }
    return this.#max;
  }

  /** p50/p95/p99/max/mean, rounded to µs. */
  percentiles(): Percentiles {
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return {
      count: this.#count,
      p50: round(this.quantile(0.5)),
      p95: round(this.quantile(0.95)),
      p99: round(this.quantile(0.99)),
      max: round(this.#max),
      mean: this.#count === 0 ? 0 : round(this.#sum / this.#count),
    };
  }
}

/** Offsets processed on one partition. */
export interface PartitionRange {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** First offset processed in this run. */
  first_offset: number;
  /** Last offset processed in this run. */
  last_offset: number;
  /** Messages processed from it. */
  messages: number;
}

/** A point-in-time summary of a run, JSON-ready. */
export interface StatsSnapshot {
  /** Messages consumed and completed (written and committed). */
  consumed: number;
  /** Predictions written. */
  predicted: number;
  /** Dead letters written. */
  dead_lettered: number;
  /** Batches completed. */
  batches: number;
  /** Share of predictions that said `Yes` (0 when none). */
  churn_rate: number;
  /** Mean P(churn). */
  mean_churn_probability: number;
  /** Predictions per P(churn) decile: `bins[i]` counts [i/10, (i+1)/10), the last includes 1. */
  probability_histogram: { bin_width: number; bins: number[] };
  /** Dead letters by reason code. */
  dead_letter_reasons: Record<string, number>;
  /** Messages per second between the first fetch and the last commit. */
  messages_per_sec: number;
  /** Seconds between the first fetch and the last commit. */
  busy_sec: number;
  /** Seconds spent inside the model, all batches (its share of busy_sec). */
  model_sec: number;
  /** Latencies in ms. */
  latency_ms: {
    /** Input broker timestamp → offsets committed, per message. */
    end_to_end: Percentiles;
    /** Model time per record (batch model time / batch size). */
    inference: Percentiles;
    /** Whole batch: fetch handed over → committed. */
    batch: Percentiles;
  };
  /** Offsets processed per partition. */
  partitions: PartitionRange[];
}

const HISTOGRAM_BINS = 10;

/** Accumulates {@link BatchOutcome}s into a {@link StatsSnapshot}. */
export class RunStats implements BatchObserver {
  #consumed = 0;
  #predicted = 0;
  #deadLettered = 0;
  #batches = 0;
  #churned = 0;
  #probabilitySum = 0;
  #modelMs = 0;
  #bins = new Array<number>(HISTOGRAM_BINS).fill(0);
  #reasons = new Map<string, number>();
  #endToEnd = new LatencyHistogram();
  #inference = new LatencyHistogram();
  #batch = new LatencyHistogram();
  #ranges = new Map<string, PartitionRange>();
  #firstFetchAt: number | undefined;
  #lastCommitAt: number | undefined;

  /** Marks when a batch was handed over (the first call starts the throughput clock). */
  markFetched(at: number): void {
    if (this.#firstFetchAt === undefined || at < this.#firstFetchAt) this.#firstFetchAt = at;
  }

  /** Adds a completed batch. */
  observeBatch(outcome: BatchOutcome, timing: BatchTiming): void {
    const { fetchedAt, completedAt } = timing;
    this.#consumed += outcome.size;
    this.#predicted += outcome.predicted;
    this.#churned += outcome.churned;
    this.#batches++;
    this.#modelMs += outcome.inferenceMs;
    for (const probability of outcome.probabilities) {
      this.#probabilitySum += probability;
      this.#bins[Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(probability * HISTOGRAM_BINS)))]++;
    }
    for (const [reason, count] of outcome.deadLetters) {
      this.#deadLettered += count;
      this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + count);
    }
    for (const timestamp of outcome.timestamps) this.#endToEnd.record(completedAt - timestamp);
    if (outcome.predicted > 0) this.#inference.recordMany(outcome.inferenceMs / outcome.predicted, outcome.predicted);
    this.markFetched(fetchedAt);
    this.#batch.record(completedAt - fetchedAt);
    if (this.#lastCommitAt === undefined || completedAt > this.#lastCommitAt) this.#lastCommitAt = completedAt;
    this.#extendRange(outcome);
  }

  #extendRange(outcome: BatchOutcome): void {
    if (outcome.size === 0) return;
    const key = `${outcome.topic}\u0000${outcome.partition}`;
    const first = Number(outcome.firstOffset);
    const last = Number(outcome.lastOffset);
    const range = this.#ranges.get(key);
    if (!range) {
      this.#ranges.set(key, {
        topic: outcome.topic,
        partition: outcome.partition,
        first_offset: first,
        last_offset: last,
        messages: outcome.size,
      });
      return;
    }
    range.first_offset = Math.min(range.first_offset, first);
    range.last_offset = Math.max(range.last_offset, last);
    range.messages += outcome.size;
  }

  /** Messages completed so far. */
  get consumed(): number {
    return this.#consumed;
  }

  /** The summary as it stands now. */
  snapshot(): StatsSnapshot {
    const busyMs = this.#firstFetchAt !== undefined && this.#lastCommitAt !== undefined
      ? Math.max(0, this.#lastCommitAt - this.#firstFetchAt)
      : 0;
    return {
      consumed: this.#consumed,
      predicted: this.#predicted,
      dead_lettered: this.#deadLettered,
      batches: this.#batches,
      churn_rate: this.#predicted === 0 ? 0 : round(this.#churned / this.#predicted, 4),
      mean_churn_probability: this.#predicted === 0 ? 0 : round(this.#probabilitySum / this.#predicted, 4),
      probability_histogram: { bin_width: 1 / HISTOGRAM_BINS, bins: [...this.#bins] },
      dead_letter_reasons: Object.fromEntries([...this.#reasons].sort(([a], [b]) => a.localeCompare(b))),
      messages_per_sec: busyMs > 0 ? Math.round(this.#consumed / (busyMs / 1000)) : 0,
      busy_sec: round(busyMs / 1000, 3),
      model_sec: round(this.#modelMs / 1000, 3),
      latency_ms: {
        end_to_end: this.#endToEnd.percentiles(),
        inference: this.#inference.percentiles(),
        batch: this.#batch.percentiles(),
      },
      partitions: [...this.#ranges.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
        .map((range) => ({ ...range })),
    };
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
