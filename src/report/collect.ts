/**
 * Gathers what a summary is computed from, through a topic reader the caller
 * passes in (`readTopic` of `src/kafka/reader.ts` in production), so this
 * folder stays free of the Kafka client: the predictions and dead letters of
 * a time window, or of one consume run (its report + its own records).
 *
 * @module
 */
import { oneLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import { summaryFromRunRecords, summaryFromRunReport } from "./from_run_report.ts";
import { decodeDeadLetter, decodePrediction, type TopicMessage } from "./messages.ts";
import type { RunReport } from "./run_report.ts";
import { type DeadLetterRecord, type LagInfo, type PredictionRecord, summarize, type Summary } from "./summary.ts";

/** Reads one topic's committed messages with timestamps in `[sinceMs, untilMs)`. */
export type TopicReader = (topic: string, window: { sinceMs?: number; untilMs?: number }) => Promise<TopicMessage[]>;

/** The records of a window, decoded. */
export interface Collected {
  /** Predictions. */
  predictions: PredictionRecord[];
  /** Dead letters. */
  deadLetters: DeadLetterRecord[];
  /** Prediction messages that did not decode. */
  unreadable: number;
}

/** Reads and decodes both topics over the window (in parallel). */
export async function collectWindow(
  read: TopicReader,
  topics: { predictions: string; deadletter: string },
  window: { sinceMs?: number; untilMs?: number },
): Promise<Collected> {
  const [predictionMessages, deadLetterMessages] = await Promise.all([
    read(topics.predictions, window),
    read(topics.deadletter, window),
  ]);
  const predictions: PredictionRecord[] = [];
  let unreadable = 0;
  for (const message of predictionMessages) {
    const record = decodePrediction(message);
    if (record) predictions.push(record);
    else unreadable++;
  }
  return { predictions, deadLetters: deadLetterMessages.map(decodeDeadLetter), unreadable };
}

/** Summary of a time window read from the topics. */
export async function summarizeWindow(
  read: TopicReader,
  options: {
    topics: { predictions: string; deadletter: string };
    sinceMs?: number;
    untilMs?: number;
    top: number;
    lag: LagInfo | null;
  },
): Promise<Summary> {
  const collected = await collectWindow(read, options.topics, { sinceMs: options.sinceMs, untilMs: options.untilMs });
  return summarize({
    source: {
      kind: "topics",
      predictions: options.topics.predictions,
      deadletter: options.topics.deadletter,
      since: options.sinceMs === undefined ? null : new Date(options.sinceMs).toISOString(),
      until: options.untilMs === undefined ? null : new Date(options.untilMs).toISOString(),
    },
    predictions: collected.predictions,
    deadLetters: collected.deadLetters,
    unreadable: collected.unreadable,
    lag: options.lag,
    top: options.top,
  });
}

/**
 * The consumer lag from `read` (e.g. `groupLag` through an admin client), or
 * null with a warning: a summary without lag beats no summary.
 */
export async function lagOrNull(read: () => Promise<LagInfo>, log?: Logger): Promise<LagInfo | null> {
  try {
    return await read();
  } catch (error) {
    log?.warn(`consumer lag not available: ${oneLine(error)}`);
    return null;
  }
}

// Predictions of a run are written before its offsets are committed, so they are stamped between its start and end;
// the margin covers clock skew between the consumer's host and the broker.
const RUN_MARGIN_MS = 60_000;

/**
 * Summary of one consume run: its own predictions and dead letters read back
 * (picked by the input offsets the report covers) when the topics can be
 * read and hold them all; the report's aggregates alone otherwise.
 */
export async function summarizeRun(
  read: TopicReader | undefined,
  report: RunReport,
  path: string,
  options: { top: number; lag: LagInfo | null; log?: Logger },
): Promise<Summary> {
  const aggregates = summaryFromRunReport(report, path, options.lag);
  if (!read || report.consumed === 0) return aggregates;
  let collected: Collected;
  try {
    collected = await collectWindow(read, {
      predictions: report.topics.predictions,
      deadletter: report.topics.deadletter,
    }, {
      sinceMs: Date.parse(report.started_at) - RUN_MARGIN_MS,
      untilMs: Date.parse(report.ended_at) + RUN_MARGIN_MS,
    });
  } catch (error) {
    options.log?.warn(`could not read the run's records back (${oneLine(error)}); summary from the report's figures`);
    return aggregates;
  }
  const full = summaryFromRunRecords(report, path, collected.predictions, collected.deadLetters, options);
  if (full.predictions !== report.predicted || full.dead_letters !== report.dead_lettered) {
    // Retention removed some, or the topics were recreated: the report's own figures are the truth then.
    options.log?.warn(
      `found ${full.predictions} predictions and ${full.dead_letters} dead letters of the run on the topics, the report says ${report.predicted} and ${report.dead_lettered}; summary from the report's figures`,
    );
    return aggregates;
  }
  // The run's window and rate are its wall clock (first fetch to last commit), not the span of its output.
  return { ...full, window: aggregates.window, throughput_per_s: aggregates.throughput_per_s };
}
