/**
 * The scheduler's two jobs as plain async functions. Everything they touch
 * comes in through {@link BatchDeps} / {@link WatchdogDeps} — the churnctl
 * runner, the summary, the clock — so tests call them directly, with fakes
 * for the unit cases and the real child processes against the real broker.
 *
 * - `batch-pipeline` (Airflow's batch DAG): produce a batch → consume it in
 *   batch mode (run report) → summary of that run as JSON + HTML, all under a
 *   time-stamped name in the reports directory.
 * - `watchdog` (Airflow's streaming DAG): `churnctl health`, logged; with a
 *   supervisor, make sure the streaming consumer runs.
 *
 * @module
 */
import { join } from "node:path";
import { oneLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import { render } from "../report/render.ts";
import type { Summary } from "../report/summary.ts";
import type { ChurnctlRunner } from "./child.ts";
import type { JobResult } from "./runner.ts";
import type { Supervisor } from "./supervisor.ts";

/** Names of the jobs, as `--once` takes them. */
export const JOB_NAMES = ["batch-pipeline", "watchdog"] as const;
/** One of {@link JOB_NAMES}. */
export type JobName = typeof JOB_NAMES[number];

/** What the batch produces from. */
export type BatchSource = { kind: "file"; path: string } | { kind: "synthetic" };

/** Settings of `batch-pipeline`. */
export interface BatchSettings {
  /** Data to send. */
  source: BatchSource;
  /** Events per run. */
  events: number;
  /** Consume stops after this long without a message. */
  idleTimeoutMs: number;
  /** Where the reports go. */
  reportsDir: string;
  /** Where the produce checkpoint goes (so the file is walked in order across runs). */
  stateDir: string;
  /** A run taking longer is stopped (SIGTERM, then SIGKILL) and failed. */
  stepTimeoutMs: number;
}

/** What `batch-pipeline` needs from the outside. */
export interface BatchDeps {
  /** Runs a churnctl command line as a child. */
  churnctl: ChurnctlRunner;
  /** Summary of one consume run, from its report path. */
  summarize: (reportPath: string) => Promise<Summary>;
  /** Log lines. */
  log: Logger;
  /** Clock (names the files). @default Date.now */
  now?: () => number;
}

/** `2025-10-11T031500Z`: a time stamp that sorts and is a valid file name everywhere. */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replaceAll(":", "").replace(/\.\d+Z$/, "Z");
}

function parseJson(text: string): Record<string, unknown> | undefined {
  const line = text.trim().split("\n").pop() ?? "";
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

function failed(step: string, code: number, stopped: boolean, result: Record<string, unknown> | undefined): JobResult {
  const reason = stopped ? "stopped (timeout or shutdown)" : `exit ${code}`;
  const detail = typeof result?.error === "string" ? `: ${result.error}` : "";
  return { status: "failed", error: `${step} ${reason}${detail}` };
}

/** The batch DAG: produce → consume (batch) → summary JSON + HTML. */
export async function batchPipeline(settings: BatchSettings, deps: BatchDeps, signal: AbortSignal): Promise<JobResult> {
  const stamp = fileStamp((deps.now ?? Date.now)());
  const base = join(settings.reportsDir, `batch-${stamp}`);
  const consumeReport = `${base}-consume.json`;
  const childOptions = { signal, timeoutMs: settings.stepTimeoutMs };
  const checkpoint = join(settings.stateDir, "batch-pipeline-checkpoint.json");

  const produceArgs = ["produce", "--mode", "batch", "--max-events", String(settings.events), "--json"];
  if (settings.source.kind === "file") produceArgs.push("--input", settings.source.path, "--checkpoint", checkpoint);
  else produceArgs.push("--synthetic");
  let produced = await deps.churnctl(produceArgs, childOptions);
  let produceResult = parseJson(produced.stdout);
  if (
    produced.code === 0 && settings.source.kind === "file" && produceResult?.sent === 0 &&
    produceResult?.stoppedBy === "end"
  ) {
    // The file was walked to its end by earlier runs: start it over, as the hourly batch of the old DAG did.
    deps.log.info("batch-pipeline: the input file was sent completely by earlier runs; starting it over");
    produced = await deps.churnctl([...produceArgs, "--restart"], childOptions);
    produceResult = parseJson(produced.stdout);
  }
  if (produced.code !== 0) return failed("produce", produced.code, produced.stopped, produceResult);
  const sent = Number(produceResult?.sent ?? 0);
  deps.log.info(`batch-pipeline: produced ${sent} events`);

  const consumeArgs = [
    "consume",
    "--mode",
    "batch",
    "--timeout-ms",
    String(settings.idleTimeoutMs),
    "--report",
    consumeReport,
    "--json",
  ];
  const consumed = await deps.churnctl(consumeArgs, childOptions);
  const consumeResult = parseJson(consumed.stdout);
  if (consumed.code !== 0) {
    return { ...failed("consume", consumed.code, consumed.stopped, consumeResult), counts: { produced: sent } };
  }
  const counts = {
    produced: sent,
    consumed: Number(consumeResult?.consumed ?? 0),
    predictions: Number(consumeResult?.predicted ?? 0),
    dead_letters: Number(consumeResult?.dead_lettered ?? 0),
  };

  let summary: Summary;
  try {
    summary = await deps.summarize(consumeReport);
  } catch (error) {
    return { status: "failed", counts, report: consumeReport, error: `summary: ${oneLine(error)}` };
  }
  await Deno.mkdir(settings.reportsDir, { recursive: true });
  const jsonPath = `${base}.json`;
  const htmlPath = `${base}.html`;
  await Deno.writeTextFile(jsonPath, render(summary, "json"));
  await Deno.writeTextFile(htmlPath, render(summary, "html"));
  deps.log.info(`batch-pipeline: summary written`, { json: jsonPath, html: htmlPath });
  return { status: "ok", counts, report: htmlPath };
}

/** What `watchdog` needs from the outside. */
export interface WatchdogDeps {
  /** Runs a churnctl command line as a child. */
  churnctl: ChurnctlRunner;
  /** Keeps the streaming consumer running, when `--supervise`. */
  supervisor?: Supervisor;
  /** Log lines. */
  log: Logger;
  /** Bound on the health run. @default 60000 */
  timeoutMs?: number;
}

/** The streaming DAG's checks: `churnctl health`, logged; and the supervised consumer kept running. */
export async function watchdog(deps: WatchdogDeps, signal: AbortSignal): Promise<JobResult> {
  const health = await deps.churnctl(["health", "--json"], { signal, timeoutMs: deps.timeoutMs ?? 60000 });
  const result = parseJson(health.stdout);
  const checks = Array.isArray(result?.checks)
    ? result.checks as { name: string; status: string; detail: string }[]
    : [];
  const bad = checks.filter((check) => check.status === "fail");
  const healthy = health.code === 0 && result?.healthy === true;
  const counts: Record<string, number> = { healthy: healthy ? 1 : 0, checks: checks.length, failed_checks: bad.length };
  if (healthy) deps.log.info(`watchdog: healthy (${checks.length} checks ok)`);
  else {
    deps.log.warn(
      `watchdog: unhealthy: ${
        bad.map((check) => `${check.name}: ${check.detail}`).join("; ") || `health exited ${health.code}`
      }`,
    );
  }
  if (deps.supervisor && !signal.aborted) {
    const status = deps.supervisor.ensure();
    counts.consumer_running = status.running ? 1 : 0;
    counts.consumer_restarts = status.restarts;
    deps.log.info(
      `watchdog: streaming consumer ${
        status.running ? `running (pid ${status.pid})` : "not running (restart pending)"
      }`,
      { restarts: status.restarts },
    );
  }
  return {
    status: healthy ? "ok" : "failed",
    counts,
    error: healthy
      ? null
      : bad.map((check) => `${check.name}: ${check.detail}`).join("; ") || `health exit ${health.code}`,
  };
}
