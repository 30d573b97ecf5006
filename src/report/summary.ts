/**
 * The summary of a scoring window, computed from plain values: predictions
 * and dead letters as decoded from their topics (or taken from a run report),
 * plus the consumer group's lag. Pure functions — no Kafka, no files — so the
 * numbers are tested with hand-made records and the renderers in
 * `render.ts` only lay them out.
 *
 * @module
 */

/** Version tag of the summary JSON (`--format json`); bump on a breaking change. */
export const SUMMARY_SCHEMA = "churnctl/summary@1";

/** One prediction, as read back from the prediction topic (the consumer's message, plus where it was read). */
export interface PredictionRecord {
  /** Customer the prediction is for. */
  customerID: string;
  /** P(churn = Yes). */
  churn_probability: number;
  /** `Yes` or `No`. */
  prediction: string;
  /** When the customer event happened (ISO-8601), if the message carries it. */
  event_ts?: string;
  /** When the consumer scored it (ISO-8601), if the message carries it. */
  processed_ts?: string;
  /** Model time attributed to this record, in ms. */
  inference_latency_ms?: number;
  /** Version of the model that scored it. */
  model_version?: string;
  /** The input event's id (the deduplication key: delivery is at least once). */
  event_id?: string;
  /** Timestamp of the prediction message on the topic, ms since the epoch. */
  brokerTimestampMs?: number;
  /** The input message it came from (the `source-*` headers). */
  source?: SourcePosition;
}

/** Where on the input topic a prediction or dead letter came from. */
export interface SourcePosition {
  /** Input topic. */
  topic: string;
  /** Input partition. */
  partition: number;
  /** Input offset. */
  offset: number;
}

/** One dead letter: why, and when it was written. */
export interface DeadLetterRecord {
  /** Stable reason code (`invalid_json`, `missing_field`, …). */
  reason: string;
  /** Timestamp of the dead-letter message, ms since the epoch. */
  timestampMs?: number;
  /** The input message it came from (the `dlq-source-*` headers). */
  source?: SourcePosition;
}

/** Consumer lag as `groupLag` in `src/kafka/admin.ts` reports it (a plain value). */
export interface LagInfo {
  /** Consumer group. */
  group: string;
  /** Group state (Stable, Empty, …). */
  state: string;
  /** Members of the group. */
  members: number;
  /** Topic the lag is measured on (the input topic). */
  topic: string;
  /** Messages not yet committed by the group. */
  totalLag: number;
  /** Per-partition detail. */
  partitions: { partition: number; committed: number; highWatermark: number; lag: number }[];
}

/** Where the summarized data came from, shown at the top of every format. */
export type SummarySource =
  | {
    kind: "topics";
    /** Topic of predictions. */
    predictions: string;
    /** Topic of dead letters. */
    deadletter: string;
    /** Start of the window (ISO), or null for the beginning of the topics. */
    since: string | null;
    /** End of the window (ISO), or null for "when the read began". */
    until: string | null;
  }
  | {
    kind: "report";
    /** Path of the run report. */
    path: string;
  };

/** Distribution of a latency, in ms (nearest-rank percentiles). */
export interface Percentiles {
  /** Number of values. */
  count: number;
  /** Median. */
  p50: number;
  /** 95th percentile. */
  p95: number;
  /** 99th percentile. */
  p99: number;
  /** Arithmetic mean. */
  mean: number;
  /** Largest value. */
  max: number;
}

/** One bin of the probability histogram, `[from, to)` (the last bin includes 1). */
export interface HistogramBin {
  /** Lower bound. */
  from: number;
  /** Upper bound. */
  to: number;
  /** Predictions in the bin. */
  count: number;
  /** Of which predicted `Yes` (absent when the source does not say, as in a run report). */
  churn?: number;
}

/** A customer most at risk. */
export interface AtRisk {
  /** Customer id. */
  customerID: string;
  /** Highest churn probability seen for the customer in the window. */
  churn_probability: number;
  /** The prediction made with that probability. */
  prediction: string;
  /** How many predictions the customer had in the window. */
  predictions: number;
}

/** One time bucket of the "predictions over time" chart. */
export interface TimelinePoint {
  /** Bucket start, ISO-8601. */
  start: string;
  /** Predictions in the bucket. */
  predictions: number;
  /** Of which `Yes`. */
  churn: number;
  /** Dead letters in the bucket. */
  dead_letters: number;
}

/** Everything `churnctl summary` reports; `--format json` prints exactly this. */
export interface Summary {
  /** {@link SUMMARY_SCHEMA}. */
  schema: typeof SUMMARY_SCHEMA;
  /** When the summary was computed (ISO). */
  generated_at: string;
  /** Where the data came from. */
  source: SummarySource;
  /** First and last message seen, and the span between them. */
  window: { first: string | null; last: string | null; seconds: number };
  /** Model versions that made the predictions. */
  model_versions: string[];
  /** Messages handled: predictions + dead letters. */
  messages: number;
  /** Predictions made. */
  predictions: number;
  /** Messages dead-lettered. */
  dead_letters: number;
  /** Distinct customers predicted (null when the source does not say, as in a run report). */
  customers: number | null;
  /** Predictions of an event already predicted in the window (at-least-once redelivery after a crash). */
  duplicate_events: number;
  /** Predictions per second between the first and last message (null when they are under 1 s apart). */
  throughput_per_s: number | null;
  /** `Yes` and `No` counts and the share of `Yes` (null with no prediction). */
  churn: { yes: number; no: number; rate: number | null };
  /** Churn probability: mean, extremes, a ten-bin histogram, and the lowest probability predicted `Yes` (≈ the model's threshold). */
  probability: {
    mean: number | null;
    min: number | null;
    max: number | null;
    histogram: HistogramBin[];
    lowest_churn: number | null;
  };
  /** The customers most at risk, highest probability first, one line per customer. */
  top: AtRisk[];
  /** Latencies in ms: model time per record, and event time → prediction written. */
  latency_ms: { inference: Percentiles | null; end_to_end: Percentiles | null };
  /** Dead letters by reason code, most frequent first. */
  dead_letter_reasons: { reason: string; count: number }[];
  /** Predictions, churn and dead letters per time bucket. */
  timeline: { bucket_seconds: number; points: TimelinePoint[] };
  /** Consumer lag on the input topic, when it could be read. */
  lag: LagInfo | null;
  /** Messages on the topics that could not be decoded as a prediction or dead letter. */
  unreadable: number;
}

/** Input of {@link summarize}: plain records and where they came from. */
export interface SummaryInput {
  /** Where the records came from. */
  source: SummarySource;
  /** Predictions in the window. */
  predictions: readonly PredictionRecord[];
  /** Dead letters in the window. */
  deadLetters: readonly DeadLetterRecord[];
  /** Consumer lag, if known. */
  lag?: LagInfo | null;
  /** Size of the top-at-risk list. @default 10 */
  top?: number;
  /** Messages that could not be decoded. @default 0 */
  unreadable?: number;
  /** Clock for `generated_at`. @default Date.now() */
  nowMs?: number;
}

/** Candidate bucket widths of the timeline, in seconds; the smallest that gives at most 60 buckets wins. */
const BUCKET_SECONDS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
const MAX_BUCKETS = 60;
const HISTOGRAM_BINS = 10;

/**
 * Nearest-rank percentiles of `values` (the value at rank ⌈p·n⌉), or null when empty.
 *
 * @example
 * ```ts
 * percentiles([1, 2, 3, 4])!.p50; // 2
 * ```
 */
export function percentiles(values: readonly number[]): Percentiles | null {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return null;
  const sorted = [...finite].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1];
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: round(rank(0.5)),
    p95: round(rank(0.95)),
    p99: round(rank(0.99)),
    mean: round(sum / sorted.length),
    max: round(sorted[sorted.length - 1]),
  };
}

/**
 * Ten equal bins over [0, 1]; a probability of exactly 1 lands in the last bin.
 * With `predictions`, each bin also counts its `Yes` predictions (the model's
 * threshold need not be a bin edge: 0.52 splits the 0.5–0.6 bin).
 */
export function probabilityHistogram(
  probabilities: readonly number[],
  predictions?: readonly string[],
): HistogramBin[] {
  const bins: HistogramBin[] = Array.from({ length: HISTOGRAM_BINS }, (_, index) => ({
    from: round(index / HISTOGRAM_BINS),
    to: round((index + 1) / HISTOGRAM_BINS),
    count: 0,
    ...(predictions ? { churn: 0 } : {}),
  }));
  probabilities.forEach((probability, position) => {
    if (!Number.isFinite(probability)) return;
    const bin = bins[Math.min(HISTOGRAM_BINS - 1, Math.max(0, Math.floor(probability * HISTOGRAM_BINS)))];
    bin.count++;
    if (predictions?.[position] === "Yes") bin.churn!++;
  });
  return bins;
}

/** The `count` customers with the highest churn probability, each customer once (its highest prediction). */
export function topAtRisk(predictions: readonly PredictionRecord[], count: number): AtRisk[] {
  const byCustomer = new Map<string, AtRisk>();
  for (const record of predictions) {
    const seen = byCustomer.get(record.customerID);
    if (!seen) {
      byCustomer.set(record.customerID, {
        customerID: record.customerID,
        churn_probability: record.churn_probability,
        prediction: record.prediction,
        predictions: 1,
      });
      continue;
    }
    seen.predictions++;
    if (record.churn_probability > seen.churn_probability) {
      seen.churn_probability = record.churn_probability;
      seen.prediction = record.prediction;
    }
  }
  return [...byCustomer.values()]
    .sort((a, b) => b.churn_probability - a.churn_probability || a.customerID.localeCompare(b.customerID))
    .slice(0, Math.max(0, count));
}

/** The time a prediction is placed on the timeline: when it was written, else scored, else the event time. */
export function predictionTimeMs(record: PredictionRecord): number | undefined {
  if (record.brokerTimestampMs !== undefined && Number.isFinite(record.brokerTimestampMs)) {
    return record.brokerTimestampMs;
  }
  for (const text of [record.processed_ts, record.event_ts]) {
    const ms = text ? Date.parse(text) : NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

/** Event time → prediction written, in ms, when both are known. */
export function endToEndMs(record: PredictionRecord): number | undefined {
  const event = record.event_ts ? Date.parse(record.event_ts) : NaN;
  const written = record.brokerTimestampMs ?? (record.processed_ts ? Date.parse(record.processed_ts) : NaN);
  if (!Number.isFinite(event) || !Number.isFinite(written)) return undefined;
  return written - event;
}

/** Buckets predictions and dead letters by time, choosing a bucket width that gives at most 60 points. */
export function timeline(
  predictions: readonly PredictionRecord[],
  deadLetters: readonly DeadLetterRecord[],
): Summary["timeline"] {
  const times = [
    ...predictions.map(predictionTimeMs),
    ...deadLetters.map((letter) => letter.timestampMs),
  ].filter((ms): ms is number => ms !== undefined && Number.isFinite(ms));
  const bounds = extent(times);
  if (!bounds) return { bucket_seconds: BUCKET_SECONDS[0], points: [] };
  const [first, last] = bounds;
  const span = last - first;
  const bucketSeconds = BUCKET_SECONDS.find((seconds) => Math.floor(span / (seconds * 1000)) + 1 <= MAX_BUCKETS) ??
    BUCKET_SECONDS[BUCKET_SECONDS.length - 1];
  const width = bucketSeconds * 1000;
  const origin = Math.floor(first / width) * width;
  const count = Math.floor((last - origin) / width) + 1;
  const points: TimelinePoint[] = Array.from({ length: count }, (_, index) => ({
    start: new Date(origin + index * width).toISOString(),
    predictions: 0,
    churn: 0,
    dead_letters: 0,
  }));
  const bucketOf = (ms: number) => points[Math.floor((ms - origin) / width)];
  for (const record of predictions) {
    const ms = predictionTimeMs(record);
    if (ms === undefined) continue;
    const point = bucketOf(ms);
    point.predictions++;
    if (record.prediction === "Yes") point.churn++;
  }
  for (const letter of deadLetters) {
    if (letter.timestampMs !== undefined && Number.isFinite(letter.timestampMs)) {
      bucketOf(letter.timestampMs).dead_letters++;
    }
  }
  return { bucket_seconds: bucketSeconds, points };
}

/** Computes the summary of `input`. */
export function summarize(input: SummaryInput): Summary {
  const { predictions, deadLetters } = input;
  const scored = predictions.filter((record) => Number.isFinite(record.churn_probability));
  const probabilities = scored.map((record) => record.churn_probability);
  const yes = predictions.filter((record) => record.prediction === "Yes").length;
  const yesProbabilities = scored.filter((record) => record.prediction === "Yes").map((r) => r.churn_probability);
  const times = [
    ...predictions.map(predictionTimeMs),
    ...deadLetters.map((letter) => letter.timestampMs),
  ].filter((ms): ms is number => ms !== undefined && Number.isFinite(ms));
  const [first, last] = extent(times) ?? [undefined, undefined];
  const seconds = first !== undefined && last !== undefined ? (last - first) / 1000 : 0;
  const reasons = new Map<string, number>();
  for (const letter of deadLetters) reasons.set(letter.reason, (reasons.get(letter.reason) ?? 0) + 1);
  const versions = new Set(predictions.map((record) => record.model_version).filter((v): v is string => !!v));
  return {
    schema: SUMMARY_SCHEMA,
    generated_at: new Date(input.nowMs ?? Date.now()).toISOString(),
    source: input.source,
    window: {
      first: first !== undefined ? new Date(first).toISOString() : null,
      last: last !== undefined ? new Date(last).toISOString() : null,
      seconds: round(seconds),
    },
    model_versions: [...versions].sort(),
    messages: predictions.length + deadLetters.length,
    predictions: predictions.length,
    dead_letters: deadLetters.length,
    customers: new Set(predictions.map((record) => record.customerID)).size,
    duplicate_events: countDuplicates(predictions),
    // Under a second the rate of a burst says nothing (300 predictions in 24 ms are not 12,500/s).
    throughput_per_s: seconds >= 1 ? round(predictions.length / seconds) : null,
    churn: {
      yes,
      no: predictions.length - yes,
      rate: predictions.length > 0 ? round(yes / predictions.length) : null,
    },
    probability: {
      mean: probabilities.length > 0 ? round(probabilities.reduce((a, b) => a + b, 0) / probabilities.length) : null,
      min: probabilities.length > 0 ? round(extent(probabilities)![0]) : null,
      max: probabilities.length > 0 ? round(extent(probabilities)![1]) : null,
      histogram: probabilityHistogram(probabilities, scored.map((record) => record.prediction)),
      lowest_churn: yesProbabilities.length > 0 ? round(extent(yesProbabilities)![0]) : null,
    },
    top: topAtRisk(predictions, input.top ?? 10),
    latency_ms: {
      inference: percentiles(
        predictions.map((record) => record.inference_latency_ms).filter((v): v is number => typeof v === "number"),
      ),
      end_to_end: percentiles(predictions.map(endToEndMs).filter((v): v is number => v !== undefined)),
    },
    dead_letter_reasons: [...reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    timeline: timeline(predictions, deadLetters),
    lag: input.lag ?? null,
    unreadable: input.unreadable ?? 0,
  };
}

/** Predictions whose `event_id` was already seen (records without an id are never duplicates). */
export function countDuplicates(predictions: readonly PredictionRecord[]): number {
  const seen = new Set<string>();
  let duplicates = 0;
  for (const record of predictions) {
    if (record.event_id === undefined) continue;
    if (seen.has(record.event_id)) duplicates++;
    else seen.add(record.event_id);
  }
  return duplicates;
}

// A loop, not Math.min(...values): a long window holds more values than the call stack takes arguments.
function extent(values: readonly number[]): [number, number] | undefined {
  if (values.length === 0) return undefined;
  let low = values[0];
  let high = values[0];
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

// Six decimal places: enough for probabilities and µs latencies, and short, stable JSON.
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
