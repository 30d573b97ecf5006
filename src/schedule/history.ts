/**
 * The scheduler's run history: one JSON object per line in
 * `<state dir>/runs.jsonl`, appended after every run (ok, failed or skipped)
 * and listed by `churnctl summary --runs`. The file is created mode 0600: it
 * names topics, hosts and error messages, which are nobody else's business.
 *
 * @module
 */
import { join } from "node:path";

/** File name of the history inside the state directory. */
export const HISTORY_FILE = "runs.jsonl";

/** How a run ended. */
export type RunStatus = "ok" | "failed" | "skipped";

/** One run of a scheduled job, as recorded. */
export interface RunRecord {
  /** Job name (`batch-pipeline`, `watchdog`). */
  job: string;
  /** Unique id of the run. */
  run_id: string;
  /** How it was started: by cron, or by `schedule --once`. */
  trigger: "cron" | "once";
  /** Start, ISO-8601 UTC. */
  start: string;
  /** End, ISO-8601 UTC. */
  end: string;
  /** Milliseconds between start and end. */
  duration_ms: number;
  /** `ok`, `failed`, or `skipped` (the previous run of the job was still going). */
  status: RunStatus;
  /** What the run counted (events produced, predictions, restarts…). */
  counts: Record<string, number>;
  /** Report written by the run, if any. */
  report: string | null;
  /** One-line reason of a failure or a skip. */
  error: string | null;
}

/** The path of the history file under `stateDir`. */
export function historyPath(stateDir: string): string {
  return join(stateDir, HISTORY_FILE);
}

/** Appends one record; creates the directory and the file (0600) when missing. */
export async function appendRun(stateDir: string, record: RunRecord): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true });
  const path = historyPath(stateDir);
  // One write per record with O_APPEND: lines of concurrent runs never interleave.
  const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(record) + "\n"));
  } finally {
    file.close();
  }
  if (Deno.build.os !== "windows") {
    // `mode` applies only when the file is created; a file someone else made wider is narrowed.
    const info = await Deno.stat(path);
    if (info.mode !== null && (info.mode & 0o077) !== 0) await Deno.chmod(path, 0o600);
  }
}

/** Reads the records, oldest first; a missing file is an empty history and a torn last line is skipped. */
export async function readRuns(stateDir: string, options: { job?: string; limit?: number } = {}): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(historyPath(stateDir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const records: RunRecord[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const record = JSON.parse(line) as RunRecord;
      if (options.job === undefined || record.job === options.job) records.push(record);
    } catch {
      // A line cut short by a crash mid-write: the other records still count.
    }
  }
  return options.limit === undefined ? records : records.slice(-options.limit);
}
