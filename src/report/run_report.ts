/**
 * The run report of `consume --mode batch`: what was consumed, predicted and
 * dead-lettered, the churn rate and probability histogram, latency
 * percentiles, the offsets covered per partition, and the guarantee in force.
 * One JSON file per run, written atomically (temporary file + rename).
 *
 * @module
 */
import { dirname, join } from "node:path";
import type { StatsSnapshot } from "../pipeline/stats.ts";

/** Identifies the format of {@link RunReport}. */
export const RUN_REPORT_SCHEMA = "churnctl/consume-run-report@1";

/** Why a run stopped. */
export type StopReason = "idle_timeout" | "max_messages" | "signal" | "error";

/** What a consume run did, as written to `--report`. */
export interface RunReport extends StatsSnapshot {
  /** Format identifier. */
  schema: typeof RUN_REPORT_SCHEMA;
  /** `batch` or `streaming`. */
  mode: string;
  /** Delivery guarantee in force. */
  guarantee: "at-least-once" | "exactly-once";
  /** Why the run stopped. */
  stopped_by: StopReason;
  /** Model version that scored the run. */
  model_version: string;
  /** Consumer group. */
  group: string;
  /** Topics read and written. */
  topics: { input: string; predictions: string; deadletter: string };
  /** Run start, ISO-8601 UTC. */
  started_at: string;
  /** Run end, ISO-8601 UTC. */
  ended_at: string;
  /** Wall-clock duration, seconds. */
  duration_sec: number;
}

/** What a report adds to the statistics. */
export type RunFacts = Omit<RunReport, keyof StatsSnapshot | "schema" | "duration_sec">;

/** Combines run facts and statistics into a report. */
export function buildRunReport(facts: RunFacts, stats: StatsSnapshot): RunReport {
  const duration = (Date.parse(facts.ended_at) - Date.parse(facts.started_at)) / 1000;
  return {
    schema: RUN_REPORT_SCHEMA,
    ...facts,
    duration_sec: Math.round(duration * 1000) / 1000,
    ...stats,
  };
}

/** Default report path: `<reportsDir>/consume-<start time>.json` (colons dropped, so it is a valid name everywhere). */
export function defaultReportPath(reportsDir: string, startedAt: Date): string {
  return join(reportsDir, `consume-${startedAt.toISOString().replaceAll(":", "").replace(/\.\d+Z$/, "Z")}.json`);
}

/** Writes `report` as pretty JSON to `path`, creating its directory; a reader never sees half a file. */
export async function writeRunReport(path: string, report: RunReport): Promise<void> {
  await Deno.mkdir(dirname(path) || ".", { recursive: true });
  const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify(report, null, 2) + "\n");
  await Deno.rename(temporary, path);
}
