/**
 * A summary from a consume run report (`consume --mode batch --report`). The
 * report holds aggregates only, so on its own it gives the counts, churn rate,
 * histogram, latencies and dead-letter reasons; when the caller could read
 * the run's own predictions back (selected by the input offsets the report
 * covers), {@link runRecordsFilter} picks them and the full summary — top N,
 * timeline — is computed from those instead.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { RUN_REPORT_SCHEMA, type RunReport } from "./run_report.ts";
import {
  type DeadLetterRecord,
  type LagInfo,
  type PredictionRecord,
  probabilityHistogram,
  type SourcePosition,
  summarize,
  type Summary,
  SUMMARY_SCHEMA,
} from "./summary.ts";

/** Reads and checks a run report file; a missing or foreign file is a one-line error. */
export async function readRunReport(path: string): Promise<RunReport> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(
      `--report: cannot read ${path}: ${
        error instanceof Deno.errors.NotFound ? "no such file" : (error as Error).message
      }`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`--report: ${path} is not JSON`);
  }
  const schema = (parsed as { schema?: unknown })?.schema;
  if (schema !== RUN_REPORT_SCHEMA) {
    throw new ConfigError(`--report: ${path} is not a consume run report (schema ${JSON.stringify(schema)})`);
  }
  return parsed as RunReport;
}

/** The summary the report's aggregates alone give (no top N, no timeline, no distinct customers). */
export function summaryFromRunReport(
  report: RunReport,
  path: string,
  lag: LagInfo | null,
  nowMs = Date.now(),
): Summary {
  const bins = report.probability_histogram.bins;
  const width = report.probability_histogram.bin_width;
  const histogram = probabilityHistogram([]).map((bin, index) => ({
    from: bin.from,
    to: index === bins.length - 1 ? 1 : Math.round((index + 1) * width * 1e6) / 1e6,
    count: bins[index] ?? 0,
  }));
  const yes = Math.round(report.churn_rate * report.predicted);
  const empty = (value: { count: number }) => value.count === 0;
  return {
    schema: SUMMARY_SCHEMA,
    generated_at: new Date(nowMs).toISOString(),
    source: { kind: "report", path },
    window: { first: report.started_at, last: report.ended_at, seconds: report.duration_sec },
    model_versions: report.model_version ? [report.model_version] : [],
    messages: report.consumed,
    predictions: report.predicted,
    dead_letters: report.dead_lettered,
    customers: null,
    duplicate_events: 0,
    throughput_per_s: report.messages_per_sec > 0 ? report.messages_per_sec : null,
    churn: { yes, no: report.predicted - yes, rate: report.predicted > 0 ? report.churn_rate : null },
    probability: {
      mean: report.predicted > 0 ? report.mean_churn_probability : null,
      min: null,
      max: null,
      histogram,
      lowest_churn: null,
    },
    top: [],
    latency_ms: {
      inference: empty(report.latency_ms.inference) ? null : report.latency_ms.inference,
      end_to_end: empty(report.latency_ms.end_to_end) ? null : report.latency_ms.end_to_end,
    },
    dead_letter_reasons: Object.entries(report.dead_letter_reasons)
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    timeline: { bucket_seconds: 1, points: [] },
    lag,
    unreadable: 0,
  };
}

/** A predicate: was this record written for an input message the report's run processed? */
export function runRecordsFilter(report: RunReport): (source: SourcePosition | undefined) => boolean {
  const ranges = new Map(
    report.partitions.map((range) => [`${range.topic}\u0000${range.partition}`, range]),
  );
  return (source) => {
    if (!source) return false;
    const range = ranges.get(`${source.topic}\u0000${source.partition}`);
    return range !== undefined && source.offset >= range.first_offset && source.offset <= range.last_offset;
  };
}

/**
 * The full summary of a run from its own records, deduplicated by input
 * position (a redelivered message is counted once, as in the report).
 */
export function summaryFromRunRecords(
  report: RunReport,
  path: string,
  predictions: readonly PredictionRecord[],
  deadLetters: readonly DeadLetterRecord[],
  options: { lag: LagInfo | null; top: number; nowMs?: number },
): Summary {
  const inRun = runRecordsFilter(report);
  const seen = new Set<string>();
  const firstOf = <T extends { source?: SourcePosition }>(record: T) => {
    if (!inRun(record.source)) return false;
    const key = `${record.source!.topic}\u0000${record.source!.partition}\u0000${record.source!.offset}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  return summarize({
    source: { kind: "report", path },
    predictions: predictions.filter(firstOf),
    deadLetters: deadLetters.filter(firstOf),
    lag: options.lag,
    top: options.top,
    nowMs: options.nowMs,
  });
}
