/**
 * Runs scheduled jobs one at a time per job: a run that fires while the
 * previous run of the same job is still going is skipped (with a log line
 * and a `skipped` record) instead of piling up, as Airflow's
 * `max_active_runs=1` did. Every run, whatever its end, appends a record to
 * the run history.
 *
 * @module
 */
import { oneLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import { appendRun, type RunRecord } from "./history.ts";

/** What a job body returns. */
export interface JobResult {
  /** `ok` or `failed`. */
  status: "ok" | "failed";
  /** Counts for the record and the log line. */
  counts?: Record<string, number>;
  /** Report written, if any. */
  report?: string | null;
  /** One-line reason when failed. */
  error?: string | null;
}

/** A job body: plain async function, stopped through `signal`. */
export type JobBody = (signal: AbortSignal) => Promise<JobResult>;

/** Options of {@link JobRunner}. */
export interface JobRunnerOptions {
  /** Where the history goes. */
  stateDir: string;
  /** Log lines. */
  log: Logger;
  /** Clock. @default Date.now */
  now?: () => number;
}

/** Runs jobs, skips overlapping runs, and records every run. */
export class JobRunner {
  #running = new Map<string, Promise<RunRecord>>();
  #stateDir: string;
  #log: Logger;
  #now: () => number;

  constructor(options: JobRunnerOptions) {
    this.#stateDir = options.stateDir;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  /** Whether a run of `job` is in progress. */
  isRunning(job: string): boolean {
    return this.#running.has(job);
  }

  /** Resolves when every run in progress has ended. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Runs `body` as `job` unless a run of it is in progress; resolves with the record written. */
  run(job: string, body: JobBody, signal: AbortSignal, trigger: RunRecord["trigger"] = "cron"): Promise<RunRecord> {
    const startMs = this.#now();
    const runId = crypto.randomUUID();
    if (this.#running.has(job)) {
      this.#log.warn(`${job}: previous run still in progress; skipping this one`, { run_id: runId });
      return this.#record({
        job,
        run_id: runId,
        trigger,
        start: new Date(startMs).toISOString(),
        end: new Date(startMs).toISOString(),
        duration_ms: 0,
        status: "skipped",
        counts: {},
        report: null,
        error: "previous run still in progress",
      });
    }
    const running = this.#execute(job, runId, body, signal, trigger, startMs)
      .finally(() => this.#running.delete(job));
    this.#running.set(job, running);
    return running;
  }

  async #execute(
    job: string,
    runId: string,
    body: JobBody,
    signal: AbortSignal,
    trigger: RunRecord["trigger"],
    startMs: number,
  ): Promise<RunRecord> {
    this.#log.info(`${job}: run started`, { run_id: runId, trigger });
    let result: JobResult;
    try {
      result = await body(signal);
    } catch (error) {
      result = { status: "failed", error: oneLine(error) };
    }
    const endMs = this.#now();
    const record: RunRecord = {
      job,
      run_id: runId,
      trigger,
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      duration_ms: endMs - startMs,
      status: result.status,
      counts: result.counts ?? {},
      report: result.report ?? null,
      error: result.error ?? null,
    };
    const fields = { run_id: runId, duration_ms: record.duration_ms, ...record.counts };
    if (record.status === "ok") {
      this.#log.info(`${job}: run ok${record.report ? ` (report ${record.report})` : ""}`, fields);
    } else this.#log.error(`${job}: run failed: ${record.error}`, fields);
    return await this.#record(record);
  }

  async #record(record: RunRecord): Promise<RunRecord> {
    try {
      await appendRun(this.#stateDir, record);
    } catch (error) {
      // A full disk must not kill the scheduler: the run itself happened, and the log says so.
      this.#log.error(`could not append to the run history: ${oneLine(error)}`, { job: record.job });
    }
    return record;
  }
}
