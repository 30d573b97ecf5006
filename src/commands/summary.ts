/**
 * `churnctl summary`: what the scorer did over a time window (read back from
 * the prediction and dead-letter topics) or in one consume run (its report):
 * counts, churn rate, probability histogram, the customers most at risk,
 * latencies, dead letters by reason and consumer lag — as a table, JSON,
 * Markdown, or a self-contained HTML page. `--runs` lists the scheduler's
 * run history instead.
 *
 * @module
 */
import { dirname } from "node:path";
import { helpText, loggerFrom, printJson, printOut } from "../cli.ts";
import { CLUSTER_OPTIONS, clusterConfig, COMMON_OPTIONS, type OptionValues, parseOptions } from "../config.ts";
import { EXIT_OK, UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { groupLag, withAdmin } from "../kafka/admin.ts";
import type { ConnectionSettings } from "../kafka/client.ts";
import { readTopic } from "../kafka/reader.ts";
import { lagOrNull, summarizeRun, summarizeWindow, type TopicReader } from "../report/collect.ts";
import { readRunReport } from "../report/from_run_report.ts";
import { type Format, FORMATS, render } from "../report/render.ts";
import type { LagInfo } from "../report/summary.ts";
import { parseWhen } from "../report/window.ts";
import { readRuns, type RunRecord } from "../schedule/history.ts";

/** Window read when neither `--since` nor `--report` is given. */
export const DEFAULT_SINCE = "1h";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CLUSTER_OPTIONS,
  report: { kind: "string", help: "summarize this consume run report instead of a time window" },
  since: {
    kind: "string",
    help: `window start: ISO time or a span back from now (90s, 30m, 1h, 2d) [default ${DEFAULT_SINCE}]`,
  },
  until: { kind: "string", help: "window end: ISO time or a span back from now [default now]" },
  top: { kind: "int", default: 10, min: 0, max: 10000, help: "customers most at risk to list" },
  format: { kind: "enum", choices: FORMATS, default: "table", help: "output format (--json is --format json)" },
  out: { kind: "string", help: "write the output to this file instead of stdout" },
  runs: { kind: "boolean", help: "list the scheduler's run history (<state-dir>/runs.jsonl) instead" },
  limit: { kind: "int", default: 50, min: 1, max: 100000, help: "with --runs: the most recent N runs" },
  job: { kind: "string", help: "with --runs: only this job (batch-pipeline, watchdog)" },
  "idle-ms": {
    kind: "int",
    default: 5000,
    min: 100,
    max: 600000,
    help: "stop reading a topic after this long without a message",
  },
} as const;

/** Parsed arguments of `churnctl summary`. */
export type SummaryArgs = OptionValues<typeof OPTIONS> & {
  env: Record<string, string | undefined>;
  /** `--since` resolved to ms since the epoch (window mode). */
  sinceMs?: number;
  /** `--until` resolved. */
  untilMs?: number;
  /** The format after `--json` is applied. */
  outputFormat: Format;
};

/** One line for the command list. */
export const summary = "summarize predictions over a window or a run: table, json, md or html";

/** Help text of `churnctl summary`. */
export const help = helpText(
  "summary [--since 1h] [--until T] [--report PATH] [--format table|json|md|html] [--out PATH] [--runs]",
  `Summarizes what the scorer did: messages, predictions, churn rate, the
churn-probability histogram, the --top N customers most at risk, latency
p50/p95/p99 (model time per event, and event time → prediction written),
dead letters by reason, and the consumer group's lag on the input topic.

By default it reads the prediction and dead-letter topics (read_committed)
over --since/--until (default: the last ${DEFAULT_SINCE}). With --report PATH it
summarizes one 'consume --mode batch' run: its own predictions are read back
when the broker answers, else the report's figures are used.

--format html writes one self-contained page with SVG charts (no network
needed to view it); use it with --out. --runs lists the scheduler's run
history (job, start, status, counts, report, error) instead.`,
  OPTIONS,
);

/** Parses the command line of `churnctl summary`. */
export function parse(argv: string[], env: Record<string, string | undefined>): SummaryArgs {
  const { values } = parseOptions(argv, OPTIONS, env, "summary");
  const nowMs = Date.now();
  const outputFormat = (values.json ? "json" : values.format) as Format;
  if (
    values.json && argv.some((word) => word === "--format" || word.startsWith("--format=")) && values.format !== "json"
  ) {
    throw new UsageError("summary: --json and --format " + values.format + " exclude each other");
  }
  if (values.report !== undefined && (values.since !== undefined || values.until !== undefined)) {
    throw new UsageError("summary: --report summarizes one run; --since/--until do not apply to it");
  }
  const sinceMs = values.report === undefined ? parseWhen(values.since ?? DEFAULT_SINCE, "--since", nowMs) : undefined;
  const untilMs = values.until === undefined ? undefined : parseWhen(values.until, "--until", nowMs);
  if (sinceMs !== undefined && untilMs !== undefined && untilMs <= sinceMs) {
    throw new UsageError("summary: --until must be after --since");
  }
  return { ...values, env, sinceMs, untilMs, outputFormat };
}

function topicReader(connection: ConnectionSettings, idleMs: number, log: Logger): TopicReader {
  return (topic, window) => readTopic(connection, topic, { ...window, idleMs, logger: log });
}

function readLag(connection: ConnectionSettings, group: string, topic: string, log: Logger): Promise<LagInfo | null> {
  return lagOrNull(() => withAdmin(connection, (admin) => groupLag(admin, group, topic)), log);
}

/** Renders the run history as a table. */
export function renderRuns(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return "no runs recorded yet (the scheduler writes them: churnctl schedule)\n";
  const rows = runs.map((run) => [
    run.start.replace("T", " ").slice(0, 19),
    run.job,
    run.trigger,
    run.status,
    `${(run.duration_ms / 1000).toFixed(1)} s`,
    Object.entries(run.counts).map(([key, value]) => `${key}=${value}`).join(" "),
    run.report ?? "",
    run.error ?? "",
  ]);
  const header = ["start (UTC)", "job", "trigger", "status", "took", "counts", "report", "error"];
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index].length)));
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

async function emit(text: string, out: string | undefined, log: Logger, what: string): Promise<void> {
  if (out === undefined) {
    printOut(text);
    return;
  }
  await Deno.mkdir(dirname(out) || ".", { recursive: true });
  await Deno.writeTextFile(out, text);
  log.info(`${what} written to ${out}`);
}

/** Computes and prints (or writes) the summary. */
export async function run(args: SummaryArgs): Promise<number> {
  const log = loggerFrom(args, "summary");
  if (args.runs) {
    const runs = await readRuns(args["state-dir"], { job: args.job, limit: args.limit });
    if (args.outputFormat === "json") {
      if (args.out === undefined) printJson({ runs });
      else await emit(JSON.stringify({ runs }, null, 2) + "\n", args.out, log, "run history");
    } else await emit(renderRuns(runs), args.out, log, "run history");
    return EXIT_OK;
  }
  const cluster = clusterConfig(args, args.env, (message) => log.warn(message));
  const read = topicReader(cluster.connection, args["idle-ms"], log);
  let result;
  if (args.report !== undefined) {
    const report = await readRunReport(args.report);
    const lag = await readLag(cluster.connection, report.group, report.topics.input, log);
    result = await summarizeRun(read, report, args.report, { top: args.top, lag, log });
  } else {
    const [lag, summaryValue] = await Promise.all([
      readLag(cluster.connection, cluster.group, cluster.topics.input, log),
      summarizeWindow(read, {
        topics: { predictions: cluster.topics.output, deadletter: cluster.topics.deadletter },
        sinceMs: args.sinceMs,
        untilMs: args.untilMs,
        top: args.top,
        lag: null,
      }),
    ]);
    result = { ...summaryValue, lag };
  }
  const text = render(result, args.outputFormat);
  if (args.outputFormat === "json" && args.out === undefined) printJson(result);
  else await emit(text, args.out, log, `${args.outputFormat} summary`);
  return EXIT_OK;
}
