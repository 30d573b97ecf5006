/**
 * `churnctl produce`: feeds the input topic with customer events, from the
 * data set's CSV or from a seeded synthetic source.
 *
 * - `--mode streaming` (default): paced at `--events-per-sec`, rows in random
 *   or file order, until `--duration`, `--max-events` or SIGINT/SIGTERM.
 * - `--mode batch`: the file in order, in batches of `--batch-size`, with a
 *   checkpoint written after each acknowledged batch, so a rerun resumes
 *   after the last acknowledged batch (at-least-once; duplicates ≤ one batch).
 * - `--dry-run`: the same events as JSON lines on stdout or `--out`, no broker.
 *
 * @module
 */
import { resolve } from "node:path";
import { helpText, loggerFrom, printJson, printOut } from "../cli.ts";
import { CLUSTER_OPTIONS, clusterConfig, COMMON_OPTIONS, type OptionValues, parseOptions } from "../config.ts";
import { ConfigError, EXIT_FAILURE, EXIT_OK, oneLine, UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { BROKER_RESTART_RETRIES, openProducer, type OutgoingRecord } from "../kafka/producer.ts";
import {
  type Checkpoint,
  identifyInput,
  identityMismatch,
  type InputIdentity,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
} from "../pipeline/checkpoint.ts";
import { type CsvRow, readCsvRows } from "../pipeline/csv_source.ts";
import { checkRow, type EventMessage, EventStamper, type InvalidRow } from "../pipeline/events.ts";
import { Pacer } from "../pipeline/pacing.ts";
import { ProgressReporter } from "../pipeline/progress.ts";
import { endlessRows } from "../pipeline/row_stream.ts";
import { SendQueue } from "../pipeline/send_queue.ts";
import { seededRandom, SyntheticCustomers } from "../pipeline/synthetic.ts";

/** Where users put the data set (git-ignored); see data/README.md. */
export const DEFAULT_INPUT = "data/telco-customer-churn.csv";
/** File name of the batch checkpoint inside the state folder. */
export const CHECKPOINT_FILE = "produce-checkpoint.json";
/** Most invalid rows listed in the `--json` summary (all are counted). */
export const INVALID_LIST_LIMIT = 20;
/** Most invalid rows logged one by one on stderr before only counting. */
const INVALID_LOG_LIMIT = 100;

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CLUSTER_OPTIONS,
  mode: {
    kind: "enum",
    choices: ["streaming", "batch"],
    default: "streaming",
    help: "streaming: paced, until stopped; batch: the file in order, with a checkpoint",
  },
  input: { kind: "string", default: DEFAULT_INPUT, help: "CSV file with the data set's header" },
  synthetic: { kind: "boolean", help: "send generated customers instead of a file (endless unless limited)" },
  seed: {
    kind: "int",
    min: 0,
    max: 2 ** 31 - 1,
    help: "seed of --synthetic and of random order (default: random, printed)",
  },
  "events-per-sec": {
    kind: "number",
    default: 1,
    min: 0.001,
    max: 100000,
    help: "streaming rate, steady (not bursts)",
  },
  order: {
    kind: "enum",
    choices: ["random", "sequential"],
    default: "random",
    help: "row order in streaming mode (batch mode is always in file order)",
  },
  duration: { kind: "number", min: 0.001, help: "stop after this many seconds" },
  "max-events": { kind: "int", min: 1, help: "stop after this many events" },
  "batch-size": {
    kind: "int",
    default: 100,
    min: 1,
    max: 20000,
    help: "rows per batch in batch mode (one batch in flight; the checkpoint moves per batch)",
  },
  checkpoint: { kind: "string", help: `checkpoint file of batch mode [default <state-dir>/${CHECKPOINT_FILE}]` },
  restart: { kind: "boolean", help: "batch mode: ignore the checkpoint and start from the first row" },
  "send-invalid": { kind: "boolean", help: "send invalid rows as they are (exercises the dead-letter path)" },
  "dry-run": { kind: "boolean", help: "write the events as JSON lines instead of sending them (no broker)" },
  out: { kind: "string", help: "with --dry-run: write the JSON lines to this file instead of stdout" },
} as const;

/** Parsed arguments of `churnctl produce`. */
export type ProduceArgs = OptionValues<typeof OPTIONS> & { env: Record<string, string | undefined> };

/** One line for the command list. */
export const summary = "send customer events: streaming (paced) or batch (checkpointed), from the CSV or synthetic";

/** Help text of `churnctl produce`. */
export const help = helpText(
  "produce [flags]",
  `Sends customer events to the input topic: key customerID, value the record as
JSON plus event_id and event_ts, headers schema-version and producer-run-id
(schema: src/schema/customer-event.schema.json). Invalid rows are reported
with their row number and reason on stderr, counted, and skipped unless
--send-invalid.

--mode streaming sends at --events-per-sec (rows in random order by default)
until --duration, --max-events, or Ctrl+C / SIGTERM, then flushes and prints
a summary (exit 0). --mode batch sends the file in order in batches of
--batch-size and writes a checkpoint after each acknowledged batch; a rerun
resumes after it (rows of the batch in flight when a run was killed may be
sent twice: at most one batch, reported). --restart starts over; a
checkpoint of another file or topic is refused (exit 1).

The input defaults to ${DEFAULT_INPUT}: the public IBM "Telco Customer Churn"
file (WA_Fn-UseC_-Telco-Customer-Churn.csv). --synthetic needs no file.
--dry-run writes the events as JSON lines (stdout or --out) and needs no
broker; it never reads or writes the checkpoint. Exit 1 when any send failed
after retries.`,
  OPTIONS,
);

/** Parses the command line of `churnctl produce`. */
export function parse(argv: string[], env: Record<string, string | undefined>): ProduceArgs {
  const values = parseOptions(argv, OPTIONS, env, "produce").values;
  const explicitInput = argv.some((word) => word === "--input" || word.startsWith("--input="));
  if (values.synthetic && explicitInput) throw new UsageError("produce: --input and --synthetic exclude each other");
  if (values.out !== undefined && !values["dry-run"]) throw new UsageError("produce: --out needs --dry-run");
  if (values["dry-run"] && values.json && values.out === undefined) {
    throw new UsageError("produce: --json with --dry-run needs --out PATH (stdout carries the events)");
  }
  if (values.restart && values.mode !== "batch") throw new UsageError("produce: --restart applies to --mode batch");
  return { ...values, env };
}

/** The final summary (also the `--json` object). */
export interface ProduceSummary {
  ok: boolean;
  mode: "streaming" | "batch";
  source: string;
  topic: string | null;
  dryRun: boolean;
  runId: string;
  seed?: number;
  sent: number;
  failed: number;
  invalid: number;
  invalidRows: InvalidRow[];
  durationSec: number;
  ratePerSec: number;
  /** Why the run ended: `end` of input, `max-events`, `duration`, `signal`, `send-failed`, or `output-closed` (dry run piped into e.g. `head`). */
  stoppedBy: "end" | "max-events" | "duration" | "signal" | "send-failed" | "output-closed";
  checkpoint?: string;
  resumedFromRow?: number;
  nextRow?: number;
  /** Rows the previous (killed) run may already have sent: at most one batch. */
  possibleDuplicates?: number;
  error?: string;
}

/** Where events go: the topic, or JSON lines (dry run). */
/** The dry run's reader went away (e.g. `| head`): a reason to stop, not a failure. */
class OutputClosed extends Error {}

interface EventSink {
  send(messages: EventMessage[]): Promise<void>;
  close(): Promise<void>;
}

async function openSink(args: ProduceArgs, log: Logger): Promise<{ sink: EventSink; topic: string | null }> {
  if (args["dry-run"]) {
    const file = args.out === undefined
      ? undefined
      : await Deno.open(args.out, { write: true, create: true, truncate: true }).catch((error) => {
        throw new ConfigError(`--out: cannot write ${args.out}: ${oneLine(error)}`);
      });
    const writer = (file?.writable ?? Deno.stdout.writable).getWriter();
    const encoder = new TextEncoder();
    return {
      topic: null,
      sink: {
        async send(messages) {
          if (messages.length === 0) return;
          try {
            await writer.write(encoder.encode(messages.map((m) => m.value).join("\n") + "\n"));
          } catch (error) {
            if (error instanceof Deno.errors.BrokenPipe) throw new OutputClosed("the output was closed");
            throw error;
          }
        },
        async close() {
          if (file) await writer.close().catch(() => {});
          else writer.releaseLock();
        },
      },
    };
  }
  const cluster = clusterConfig(args, args.env, (message) => log.warn(message));
  const topic = cluster.topics.input;
  const writer = await openProducer(cluster.connection, { logger: log, retries: BROKER_RESTART_RETRIES });
  return {
    topic,
    sink: {
      send: (messages) =>
        writer.send(messages.map((m): OutgoingRecord => ({ topic, key: m.key, value: m.value, headers: m.headers }))),
      close: () => writer.close(),
    },
  };
}

/** Checks the input file exists; the default path gets the line saying where the data set comes from. */
async function checkInput(path: string): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new ConfigError(`--input: ${path} is not a file`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    if (path === DEFAULT_INPUT) {
      throw new ConfigError(
        `no data file at ${DEFAULT_INPUT}: put the public IBM "Telco Customer Churn" CSV (WA_Fn-UseC_-Telco-Customer-Churn.csv, e.g. from Kaggle) there, or use --input PATH or --synthetic`,
      );
    }
    throw new ConfigError(`--input: no such file ${path} (or use --synthetic)`);
  }
}

/** Counts and reports invalid rows: each on stderr (up to a limit), a capped list for the summary. */
class InvalidTally {
  count = 0;
  readonly listed: InvalidRow[] = [];
  #seen = new Set<number>();
  #log: Logger;
  #sendInvalid: boolean;

  constructor(log: Logger, sendInvalid: boolean) {
    this.#log = log;
    this.#sendInvalid = sendInvalid;
  }

  add(invalid: InvalidRow): void {
    this.count++;
    // Streaming mode meets the same row again on every pass: report it once.
    if (this.#seen.has(invalid.row)) return;
    this.#seen.add(invalid.row);
    if (this.listed.length < INVALID_LIST_LIMIT) this.listed.push(invalid);
    if (this.#seen.size <= INVALID_LOG_LIMIT) {
      this.#log.warn(
        `invalid row ${invalid.row} (line ${invalid.line}): ${invalid.reason}: ${invalid.message}${
          this.#sendInvalid ? " (sent as it is)" : " (skipped)"
        }`,
      );
    } else if (this.#seen.size === INVALID_LOG_LIMIT + 1) {
      this.#log.warn(`more than ${INVALID_LOG_LIMIT} invalid rows: counting the rest without listing them`);
    }
  }
}

/** Turns a row into its message: a valid row as an event; an invalid one counted (and sent raw with --send-invalid). */
function rowMessage(
  row: CsvRow,
  stamper: EventStamper,
  tally: InvalidTally,
  sendInvalid: boolean,
): EventMessage | undefined {
  const outcome = checkRow(row);
  if (outcome.ok) return stamper.customerEvent(outcome.customer);
  tally.add(outcome.invalid);
  return sendInvalid ? stamper.rawRowEvent(row) : undefined;
}

/** Mutable run state shared by both modes. */
interface RunState {
  sent: number;
  failed: number;
  stoppedBy: ProduceSummary["stoppedBy"];
  error?: string;
}

/** Sends events; exit 0 unless a send failed after retries. */
export async function run(args: ProduceArgs): Promise<number> {
  const log = loggerFrom(args, "producer");
  const stdoutTaken = args["dry-run"] && args.out === undefined;
  const input = args.input;
  if (!args.synthetic) await checkInput(input);
  const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
  const stamper = new EventStamper(crypto.randomUUID());
  const tally = new InvalidTally(log, args["send-invalid"]);
  const checkpointPath = args.checkpoint ?? `${args["state-dir"]}/${CHECKPOINT_FILE}`;

  // Batch mode decides where to start before connecting, so a wrong checkpoint fails fast.
  let plan: BatchPlan | undefined;
  if (args.mode === "batch" && !args.synthetic && !args["dry-run"]) {
    const topic = args["input-topic"];
    plan = await planBatch(input, topic, checkpointPath, args.restart, log);
  }

  const { sink, topic } = await openSink(args, log);
  const controller = new AbortController();
  const onSignal = () => {
    if (!controller.signal.aborted) log.info("stopping: flushing what is in flight (send the signal again to wait)");
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const state: RunState = { sent: 0, failed: 0, stoppedBy: "end" };
  const started = performance.now();
  let extra: Partial<ProduceSummary> = {};
  try {
    if (args.mode === "batch") {
      extra = await runBatch(args, { sink, stamper, tally, state, log, signal: controller.signal, seed, plan });
    } else {
      await runStreaming(args, { sink, stamper, tally, state, log, signal: controller.signal, seed });
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await sink.close();
  }
  const durationSec = (performance.now() - started) / 1000;
  const result: ProduceSummary = {
    ok: state.failed === 0,
    mode: args.mode as "streaming" | "batch",
    source: args.synthetic ? "synthetic" : resolve(input),
    topic,
    dryRun: args["dry-run"],
    runId: stamper.runId,
    seed: args.synthetic || (args.mode === "streaming" && args.order === "random") ? seed : undefined,
    sent: state.sent,
    failed: state.failed,
    invalid: tally.count,
    invalidRows: tally.listed,
    durationSec: round(durationSec, 3),
    ratePerSec: round(state.sent / Math.max(durationSec, 1e-9), 2),
    stoppedBy: state.stoppedBy,
    ...extra,
    ...(state.error ? { error: state.error } : {}),
  };
  printSummary(result, args.json, stdoutTaken);
  return result.ok ? EXIT_OK : EXIT_FAILURE;
}

function printSummary(result: ProduceSummary, json: boolean, stdoutTaken: boolean): void {
  if (json) return printJson(result);
  const lines = [
    `${result.dryRun ? "dry run: wrote" : "sent"} ${result.sent} events${
      result.topic ? ` to ${result.topic}` : ""
    } in ${result.durationSec.toFixed(1)} s (${result.ratePerSec} event${
      result.ratePerSec === 1 ? "" : "s"
    }/s); failed ${result.failed}; invalid rows ${result.invalid}; stopped by ${result.stoppedBy}`,
  ];
  if (result.resumedFromRow !== undefined && result.resumedFromRow > 1) {
    lines.push(
      `resumed at row ${result.resumedFromRow}${
        result.possibleDuplicates
          ? `; the interrupted run may already have sent up to ${result.possibleDuplicates} of the rows from there (at most one batch, sent again now)`
          : ""
      }`,
    );
  }
  if (result.nextRow !== undefined && result.checkpoint) {
    lines.push(`checkpoint ${result.checkpoint}: next row ${result.nextRow}`);
  }
  if (result.error) lines.push(`error: ${result.error}`);
  const text = lines.join("\n");
  if (stdoutTaken) Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
  else printOut(text);
}

interface RunContext {
  sink: EventSink;
  stamper: EventStamper;
  tally: InvalidTally;
  state: RunState;
  log: Logger;
  signal: AbortSignal;
  seed: number;
  plan?: BatchPlan;
}

/** Streaming: paced events until a limit or a signal; sends never block the pacing (see SendQueue). */
async function runStreaming(args: ProduceArgs, context: RunContext): Promise<void> {
  const { sink, stamper, tally, state, log, signal } = context;
  const rate = args["events-per-sec"];
  let dropped = 0;
  const stop = new AbortController();
  const stopped = AbortSignal.any([signal, stop.signal]);
  const maxEvents = args["max-events"] ?? Infinity;
  const sendInvalid = args["send-invalid"];
  const queue = new SendQueue<EventMessage>((batch) => sink.send(batch), {
    onError: (error, count) => {
      if (error instanceof OutputClosed) {
        dropped += count;
        stop.abort();
        return;
      }
      state.error = oneLine(error);
      log.error(`a send of ${count} events failed after retries: ${oneLine(error)}; stopping`);
      stop.abort();
    },
    failFast: true,
  });
  const next = streamingSource(args, context.seed, stamper, tally, sendInvalid);
  const pacer = new Pacer(rate);
  const progressEvery = 10000;
  let lastProgress = performance.now();
  let issued = 0;
  let until = Infinity;
  try {
    for (;;) {
      if (issued >= maxEvents) {
        state.stoppedBy = "max-events";
        await pacer.waitNextSlot(stopped);
        break;
      }
      const due = await pacer.next(stopped, until);
      if (until === Infinity && pacer.startedAt !== undefined && args.duration !== undefined) {
        until = pacer.startedAt + args.duration * 1000;
      }
      if (due === 0) {
        state.stoppedBy = stop.signal.aborted
          ? (state.error ? "send-failed" : "output-closed")
          : signal.aborted
          ? "signal"
          : "duration";
        break;
      }
      const count = Math.min(due, maxEvents - issued);
      const messages: EventMessage[] = [];
      for (let index = 0; index < count; index++) messages.push(await next());
      issued += count;
      queue.push(messages);
      await queue.ready();
      const now = performance.now();
      if (now - lastProgress >= progressEvery) {
        lastProgress = now;
        log.info(`progress: ${queue.sent} sent, ${queue.failed} failed, ${tally.count} invalid`);
      }
    }
  } finally {
    await queue.drain();
    state.sent = queue.sent;
    state.failed = queue.failed - dropped;
    if (pacer.forgiven > 0) {
      log.warn(`the sink fell behind: ${pacer.forgiven} events were not sent to keep the rate steady`);
    }
  }
}

/** The next event of a streaming run: synthetic, or the file's rows forever (invalid rows counted). */
function streamingSource(
  args: ProduceArgs,
  seed: number,
  stamper: EventStamper,
  tally: InvalidTally,
  sendInvalid: boolean,
): () => Promise<EventMessage> {
  if (args.synthetic) {
    const customers = new SyntheticCustomers({ seed });
    return () => Promise.resolve(stamper.customerEvent(customers.next()));
  }
  const rows = endlessRows(args.input, { order: args.order as "random" | "sequential", random: seededRandom(seed) });
  let invalidInARow = 0;
  return async () => {
    for (;;) {
      const next = await rows.next();
      if (next.done) throw new ConfigError(`${args.input}: no data rows to send`);
      const outcome = checkRow(next.value);
      if (outcome.ok) {
        invalidInARow = 0;
        return stamper.customerEvent(outcome.customer);
      }
      tally.add(outcome.invalid);
      if (sendInvalid) return stamper.rawRowEvent(next.value);
      if (++invalidInARow > 1_000_000) throw new ConfigError(`${args.input}: no valid rows to send`);
    }
  };
}

/** Where a batch run starts and what the checkpoint says about the previous run. */
interface BatchPlan {
  identity: InputIdentity;
  topic: string;
  checkpointPath: string;
  fromRow: number;
  possibleDuplicates: number;
}

async function planBatch(
  input: string,
  topic: string,
  checkpointPath: string,
  restart: boolean,
  log: Logger,
): Promise<BatchPlan> {
  const identity = await identifyInput(input);
  if (restart) {
    await removeCheckpoint(checkpointPath);
    return { identity, topic, checkpointPath, fromRow: 1, possibleDuplicates: 0 };
  }
  const saved = await readCheckpoint(checkpointPath);
  if (!saved) return { identity, topic, checkpointPath, fromRow: 1, possibleDuplicates: 0 };
  const mismatch = identityMismatch(saved.input, identity);
  if (mismatch) {
    throw new ConfigError(
      `checkpoint ${checkpointPath} belongs to another input (${mismatch}): use --restart to start ${input} from row 1, or --checkpoint PATH to keep both`,
    );
  }
  if (saved.topic !== topic) {
    throw new ConfigError(
      `checkpoint ${checkpointPath} is for topic ${saved.topic}, not ${topic}: use --restart to start over, or --checkpoint PATH to keep both`,
    );
  }
  if (saved.state === "complete") {
    log.info(`${input} was already sent completely (checkpoint ${checkpointPath}); --restart sends it again`);
  } else {
    log.info(`resuming ${input} at row ${saved.nextRow} (checkpoint ${checkpointPath})`);
  }
  // A run that ended without a clean stop may have had one batch on the wire: it may be on the topic already.
  return {
    identity,
    topic,
    checkpointPath,
    fromRow: saved.nextRow,
    possibleDuplicates: saved.state === "running" ? saved.batchSize : 0,
  };
}

/** One batch: messages to send and the rows they cover. */
interface Batch {
  messages: EventMessage[];
  rows: number;
  lastRow: number;
  bytesRead: number;
}

/** Batch mode: the file (or synthetic customers) in order, one batch in flight, checkpoint after each ack. */
async function runBatch(args: ProduceArgs, context: RunContext): Promise<Partial<ProduceSummary>> {
  const { sink, stamper, tally, state, log, signal, plan } = context;
  const batchSize = args["batch-size"];
  const maxEvents = args["max-events"] ?? Infinity;
  const deadline = args.duration === undefined ? Infinity : performance.now() + args.duration * 1000;
  const sendInvalid = args["send-invalid"];
  let size = Infinity;
  if (!args.synthetic) size = (await Deno.stat(args.input)).size;
  const progress = new ProgressReporter({
    terminal: Deno.stderr.isTerminal() && log.enabled("info"),
    write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    line: (text) => log.info(text),
  });
  let nextRow = plan?.fromRow ?? 1;
  const checkpoint = (checkpointState: Checkpoint["state"]): Promise<void> =>
    plan
      ? writeCheckpoint(plan.checkpointPath, {
        version: 1,
        input: plan.identity,
        topic: plan.topic,
        nextRow,
        batchSize,
        state: checkpointState,
        runId: stamper.runId,
        updatedAt: new Date().toISOString(),
      })
      : Promise.resolve();

  const batches = args.synthetic
    ? syntheticBatches(new SyntheticCustomers({ seed: context.seed }), stamper, batchSize, maxEvents)
    : csvBatches(args.input, nextRow, batchSize, maxEvents, (row) => rowMessage(row, stamper, tally, sendInvalid));
  // Build the next batch while the current one is on the wire.
  const ahead = prefetch(batches);
  let exhausted = true;
  let lastBytes = 0;
  try {
    for (;;) {
      if (signal.aborted) {
        state.stoppedBy = "signal";
        exhausted = false;
        break;
      }
      if (performance.now() >= deadline) {
        state.stoppedBy = "duration";
        exhausted = false;
        break;
      }
      const next = await ahead.next();
      if (next.done) {
        if (state.sent >= maxEvents) {
          state.stoppedBy = "max-events";
          exhausted = false;
        }
        break;
      }
      const batch = next.value;
      try {
        await sink.send(batch.messages);
      } catch (error) {
        if (error instanceof OutputClosed) {
          state.stoppedBy = "output-closed";
          exhausted = false;
          break;
        }
        state.failed += batch.messages.length;
        state.stoppedBy = "send-failed";
        state.error = oneLine(error);
        exhausted = false;
        log.error(
          `a batch of ${batch.messages.length} events (rows ${nextRow}–${batch.lastRow}) failed after retries: ${
            oneLine(error)
          }; a rerun resumes at row ${nextRow}`,
        );
        break;
      }
      state.sent += batch.messages.length;
      nextRow = batch.lastRow + 1;
      lastBytes = batch.bytesRead;
      await checkpoint("running");
      progress.update({
        sent: state.sent,
        fraction: Number.isFinite(size) ? lastBytes / size : undefined,
        note: args.synthetic ? undefined : `next row ${nextRow}`,
      });
    }
  } finally {
    await ahead.close();
  }
  if (state.stoppedBy !== "send-failed") await checkpoint(exhausted ? "complete" : "stopped");
  progress.finish({
    sent: state.sent,
    fraction: Number.isFinite(size) ? (exhausted ? 1 : lastBytes / size) : undefined,
    note: args.synthetic ? undefined : `next row ${nextRow}`,
  });
  if (!plan) return {};
  return {
    checkpoint: resolve(plan.checkpointPath),
    resumedFromRow: plan.fromRow,
    nextRow,
    possibleDuplicates: plan.possibleDuplicates,
  };
}

/** Batches of `batchSize` rows of the file from `fromRow` on, stopping once `maxEvents` messages are made. */
async function* csvBatches(
  path: string,
  fromRow: number,
  batchSize: number,
  maxEvents: number,
  toMessage: (row: CsvRow) => EventMessage | undefined,
): AsyncGenerator<Batch> {
  let made = 0;
  let batch: Batch = { messages: [], rows: 0, lastRow: 0, bytesRead: 0 };
  for await (const row of readCsvRows(path, { fromRow })) {
    const message = toMessage(row);
    if (message) batch.messages.push(message), made++;
    batch.rows++;
    batch.lastRow = row.rowNumber;
    batch.bytesRead = row.bytesRead;
    if (made >= maxEvents) break;
    if (batch.rows >= batchSize) {
      yield batch;
      batch = { messages: [], rows: 0, lastRow: 0, bytesRead: 0 };
    }
  }
  if (batch.rows > 0) yield batch;
}

/** Batches of synthetic customers, endless unless `maxEvents` is finite. */
async function* syntheticBatches(
  customers: SyntheticCustomers,
  stamper: EventStamper,
  batchSize: number,
  maxEvents: number,
): AsyncGenerator<Batch> {
  while (customers.count < maxEvents) {
    const messages: EventMessage[] = [];
    const count = Math.min(batchSize, maxEvents - customers.count);
    for (let index = 0; index < count; index++) messages.push(stamper.customerEvent(customers.next()));
    yield await Promise.resolve({ messages, rows: count, lastRow: customers.count, bytesRead: 0 });
  }
}

/** An async iterator that fetches one item ahead, so building the next batch overlaps the current send. */
function prefetch<T>(source: AsyncGenerator<T>): {
  next(): Promise<IteratorResult<T>>;
  close(): Promise<void>;
} {
  let pending: Promise<IteratorResult<T>> | undefined = source.next();
  return {
    async next() {
      if (!pending) return { done: true, value: undefined };
      const result = await pending;
      pending = result.done ? undefined : source.next();
      return result;
    },
    async close() {
      // Let the read-ahead settle before closing the file under it.
      await pending?.catch(() => {});
      await source.return(undefined).catch(() => {});
    },
  };
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
