/**
 * `churnctl schedule`: the two Airflow DAGs of the old pipeline as `Deno.cron`
 * jobs in one long-running process — `batch-pipeline` (produce → consume in
 * batch mode → summary report) and `watchdog` (health checks, and with
 * `--supervise` a streaming consumer kept alive). `--once JOB` runs one job
 * now and exits with its status. SIGINT/SIGTERM abort the crons, stop the
 * children and wait for them.
 *
 * The job bodies live in `src/schedule/jobs.ts` (plain functions); this
 * module only wires them to the cron, the child-process runner, the summary
 * reader and the run history.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { helpText, loggerFrom } from "../cli.ts";
import { CLUSTER_OPTIONS, clusterConfig, COMMON_OPTIONS, envName, type OptionValues, parseOptions } from "../config.ts";
import { ConfigError, EXIT_FAILURE, EXIT_OK } from "../errors.ts";
import { groupLag, withAdmin } from "../kafka/admin.ts";
import { readTopic } from "../kafka/reader.ts";
import { lagOrNull, summarizeRun } from "../report/collect.ts";
import { readRunReport } from "../report/from_run_report.ts";
import { runChurnctl, spawnChurnctl, stopChild } from "../schedule/child.ts";
import { type CronSpec, nextRun, validateCron } from "../schedule/cron.ts";
import { historyPath } from "../schedule/history.ts";
import { batchPipeline, type BatchSettings, JOB_NAMES, type JobName, watchdog } from "../schedule/jobs.ts";
import { type JobBody, JobRunner } from "../schedule/runner.ts";
import { Supervisor } from "../schedule/supervisor.ts";
import { parseListenAddress } from "../service/http.ts";
import { SERVICE_OPTIONS } from "../service/options.ts";

/** Default input of the batch job: where `churnctl produce` looks for the data set. */
const DEFAULT_BATCH_INPUT = "data/telco-customer-churn.csv";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CLUSTER_OPTIONS,
  "batch-cron": {
    kind: "string",
    default: "0 * * * *",
    help: "when batch-pipeline runs (5-field cron, UTC; day of week 1=SUN…7=SAT or names)",
  },
  "watchdog-cron": { kind: "string", default: "* * * * *", help: "when watchdog runs (5-field cron, UTC)" },
  once: { kind: "enum", choices: JOB_NAMES, help: "run this job once now and exit with its status" },
  supervise: { kind: "boolean", help: "keep one streaming consumer running (started now, restarted if it dies)" },
  "metrics-addr": {
    ...SERVICE_OPTIONS["metrics-addr"],
    help: "with --supervise: the supervised consumer serves /metrics, /healthz and /ready on host:port",
  },
  "batch-input": { kind: "string", default: DEFAULT_BATCH_INPUT, help: "CSV the batch is taken from (in order)" },
  "batch-synthetic": { kind: "boolean", help: "batch of synthetic customers instead of --batch-input" },
  "batch-events": { kind: "int", default: 1000, min: 1, max: 10_000_000, help: "events per batch run" },
  "batch-idle-ms": {
    kind: "int",
    default: 10000,
    min: 100,
    max: 3_600_000,
    help: "the batch consume stops after this long without a message",
  },
  "step-timeout-ms": {
    kind: "int",
    default: 1_800_000,
    min: 1000,
    help: "a produce/consume step running longer is stopped and the run failed",
  },
} as const;

/** Parsed arguments of `churnctl schedule`. */
export type ScheduleArgs = OptionValues<typeof OPTIONS> & {
  env: Record<string, string | undefined>;
  /** Parsed `--batch-cron`. */
  batchSpec: CronSpec;
  /** Parsed `--watchdog-cron`. */
  watchdogSpec: CronSpec;
};

/** One line for the command list. */
export const summary = "run batch-pipeline and watchdog on cron (Deno.cron), or one job with --once";

/** Help text of `churnctl schedule`. */
export const help = helpText(
  "schedule [--batch-cron EXPR] [--watchdog-cron EXPR] [--supervise] [--once batch-pipeline|watchdog]",
  `Runs churnctl's jobs on a schedule, in this process (Deno.cron; times are UTC):

  batch-pipeline  produce --batch-events from --batch-input (in file order, resuming
                  where the previous run stopped) or --batch-synthetic, consume them
                  in batch mode, and write the run's summary as JSON and HTML:
                  <reports-dir>/batch-<time>.json|.html (+ -consume.json run report)
  watchdog        churnctl health, logged; with --supervise also keeps one streaming
                  consumer running: started now, restarted if it exits, logged

A run of a job that is still going when its next time comes is skipped (logged).
Every run appends {job, start, end, status, counts, report, error} to
<state-dir>/runs.jsonl (mode 0600): 'churnctl summary --runs' lists them.
Cron expressions are checked at start: a bad one is a one-line error, exit 2.
--once JOB runs one job now and exits 0 (ok) or 1 (failed).
SIGINT/SIGTERM stop the scheduler: children get SIGTERM, runs in progress end.`,
  OPTIONS,
);

/** Parses the command line of `churnctl schedule`; validates both cron expressions. */
export function parse(argv: string[], env: Record<string, string | undefined>): ScheduleArgs {
  const { values } = parseOptions(argv, OPTIONS, env, "schedule");
  const batchSpec = validateCron(values["batch-cron"], "--batch-cron");
  const watchdogSpec = validateCron(values["watchdog-cron"], "--watchdog-cron");
  if (values["metrics-addr"] !== undefined) parseListenAddress(values["metrics-addr"]);
  return { ...values, env, batchSpec, watchdogSpec };
}

/** The environment that gives a child the same cluster, topics, directories and logging as this process. */
export function childEnvironment(args: ScheduleArgs): Record<string, string> {
  const env: Record<string, string> = {};
  const keys = [...Object.keys(CLUSTER_OPTIONS), "log-level", "log-format"] as (keyof ScheduleArgs)[];
  for (const key of keys) {
    const value = args[key];
    if (value === undefined) continue;
    env[envName(String(key))] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return env;
}

function describeNext(spec: CronSpec): string {
  const next = nextRun(spec, Date.now());
  return next === undefined ? "never" : new Date(next).toISOString();
}

/** Runs the scheduler (or one job); returns 0 on a clean stop or an ok `--once` run. */
export async function run(args: ScheduleArgs): Promise<number> {
  const log = loggerFrom(args, "scheduler");
  const cluster = clusterConfig(args, args.env, (message) => log.warn(message));
  if (!args["batch-synthetic"] && !existsSync(args["batch-input"]) && args.once !== "watchdog") {
    throw new ConfigError(`--batch-input: no such file ${args["batch-input"]} (or use --batch-synthetic)`);
  }
  // Only the supervised consumer serves the endpoint: a batch job's consume must not try to bind the same port,
  // whether the address came from our flag or from an inherited CHURNCTL_METRICS_ADDR.
  const env = { ...childEnvironment(args), CHURNCTL_METRICS_ADDR: "" };
  const metricsArgs = args["metrics-addr"] === undefined ? [] : ["--metrics-addr", args["metrics-addr"]];
  const churnctl: typeof runChurnctl = (childArgs, options = {}) =>
    runChurnctl(childArgs, { ...options, env: { ...env, ...options.env } });
  const runner = new JobRunner({ stateDir: cluster.stateDir, log });
  const settings: BatchSettings = {
    source: args["batch-synthetic"] ? { kind: "synthetic" } : { kind: "file", path: args["batch-input"] },
    events: args["batch-events"],
    idleTimeoutMs: args["batch-idle-ms"],
    reportsDir: cluster.reportsDir,
    stateDir: cluster.stateDir,
    stepTimeoutMs: args["step-timeout-ms"],
  };
  const summarize = async (reportPath: string) => {
    const report = await readRunReport(reportPath);
    const read = (topic: string, window: { sinceMs?: number; untilMs?: number }) =>
      readTopic(cluster.connection, topic, { ...window, logger: log });
    const lag = await lagOrNull(
      () => withAdmin(cluster.connection, (admin) => groupLag(admin, report.group, report.topics.input)),
      log,
    );
    return await summarizeRun(read, report, reportPath, { top: 10, lag, log });
  };
  const supervisor = args.supervise && args.once === undefined
    ? new Supervisor({
      name: "streaming consumer",
      log,
      start: () => {
        const child = spawnChurnctl(["consume", "--mode", "streaming", ...metricsArgs], { env, stdout: "null" });
        return {
          pid: child.pid,
          exited: child.status.then((status) => status.code),
          stop: () => stopChild(child, 30000).then((status) => status.code),
        };
      },
    })
    : undefined;
  const bodies: Record<JobName, JobBody> = {
    "batch-pipeline": (signal) => batchPipeline(settings, { churnctl, summarize, log }, signal),
    watchdog: (signal) => watchdog({ churnctl, supervisor, log }, signal),
  };

  const controller = new AbortController();
  const onSignal = () => {
    if (!controller.signal.aborted) log.info("stop requested: finishing runs in progress");
    controller.abort();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const name of signals) Deno.addSignalListener(name, onSignal);
  try {
    if (args.once !== undefined) {
      if (args.supervise) log.warn("--supervise applies to the long-running scheduler, not to --once");
      const record = await runner.run(args.once, bodies[args.once as JobName], controller.signal, "once");
      return record.status === "ok" ? EXIT_OK : EXIT_FAILURE;
    }
    const fire = (job: JobName) => () => {
      // Not awaited: the runner, not Deno.cron, decides about overlap, so a skipped run is logged and recorded.
      void runner.run(job, bodies[job], controller.signal, "cron");
    };
    const cronOptions = { signal: controller.signal };
    void Deno.cron("churnctl batch-pipeline", args["batch-cron"], cronOptions, fire("batch-pipeline"));
    void Deno.cron("churnctl watchdog", args["watchdog-cron"], cronOptions, fire("watchdog"));
    log.info("scheduler started", {
      batch_cron: args["batch-cron"],
      batch_next: describeNext(args.batchSpec),
      watchdog_cron: args["watchdog-cron"],
      watchdog_next: describeNext(args.watchdogSpec),
      supervise: args.supervise,
      history: historyPath(cluster.stateDir),
    });
    supervisor?.ensure();
    await new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve(), { once: true }));
    await Promise.all([supervisor?.stop(), runner.idle()]);
    log.info("scheduler stopped");
    return EXIT_OK;
  } finally {
    for (const name of signals) Deno.removeSignalListener(name, onSignal);
  }
}
