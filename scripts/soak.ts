/**
 * `deno task soak`: proves "nothing lost" under faults, with figures a user can rerun.
 *
 * 1. Starts its OWN Kafka (port 39092 unless `--port`, state in
 *    `.churnctl/soak-broker`), never the shared 19092 one, and fresh topics.
 * 2. Produces `--events` events at `--rate` per second: synthetic customers
 *    and CSV rows (the shared data file plus injected bad rows, `--send-invalid`)
 *    from `churnctl produce --mode streaming` children, and ~2 % raw bad
 *    messages of every kind in scripts/soak/bad_messages.ts from the soak itself.
 * 3. Meanwhile a group of 2 `churnctl consume --mode streaming` children scores
 *    them; `--kills` times (seeded moments) one of them is SIGKILLed and
 *    restarted; `--broker-restarts` times the broker is stopped, left down a few
 *    seconds and started again on the same data. Recovery time = first commit
 *    of the group (committed offsets polled with the admin client) after the
 *    broker answers again.
 * 4. Waits for the group's lag to reach 0, stops the consumers, runs the
 *    producer crash-resume check (`produce --mode batch --checkpoint`, SIGKILLed
 *    `--producer-kills` times), then reads the three topics back with
 *    src/kafka/reader.ts (a throwaway reader, not the consumer's code) and
 *    accounts for every input message: predicted, dead-lettered, or missing.
 * 5. Prints a table, writes `reports/soak-<time>.json`, stops its broker, and
 *    exits 1 when anything is missing (or duplicated in `--exactly-once` mode,
 *    or the crash-resume check failed, or the group never drained).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { brokerDown, brokerStart, brokerStop, brokerUp } from "./broker.ts";
import { ensureTopics, groupLag, withAdmin } from "../src/kafka/admin.ts";
import type { ConnectionSettings } from "../src/kafka/client.ts";
import { openProducer, type OutgoingRecord, type RecordWriter } from "../src/kafka/producer.ts";
import { readTopic } from "../src/kafka/reader.ts";
import { seededRandom } from "../src/pipeline/synthetic.ts";
import { account, type Accounting, EXPECT_HEADER, KIND_HEADER } from "./soak/accounting.ts";
import { BAD_KINDS } from "./soak/bad_messages.ts";
import { type Child, consumerSupportsExactlyOnce, killHard, sleep, startCli, terminate } from "./soak/children.ts";
import { type CrashResumeResult, producerCrashResume } from "./soak/crash_resume.ts";

const ROOT = resolve(new URL("../", import.meta.url).pathname);
const DATA_FILE = resolve(ROOT, "../shared/data/telco-customer-churn.csv");

/** Parsed flags. */
interface SoakOptions {
  events: number;
  kills: number;
  brokerRestarts: number;
  seed: number;
  exactlyOnce: boolean;
  rate: number;
  port: number;
  producerKills: number;
  downSeconds: number;
  stateDir: string;
  keepBroker: boolean;
}

const HELP = `Usage: deno task soak [flags]

Chaos soak on its own local Kafka: produce --events at --rate while 2 consumers
score them, SIGKILL a consumer --kills times, restart the broker
--broker-restarts times, then account for every input message.

  --events N            events to produce (default 200000)
  --kills N             consumer SIGKILLs (default 20)
  --broker-restarts N   broker stop/start cycles (default 3)
  --seed N              seed of the kill moments and the bad messages (default 1)
  --exactly-once        run the consumers with --exactly-once (duplicates must be 0)
  --rate N              events per second, all producers together (default 1000)
  --producer-kills N    SIGKILLs of the batch producer in the crash-resume check (default 3; 0 skips it)
  --down-seconds N      how long the broker stays down each time (default 3)
  --port N              the soak broker's port (default 39092; controller port + 1)
  --state-dir PATH      the soak broker's state (default .churnctl/soak-broker)
  --keep-broker         leave the soak broker running at the end`;

function parseFlags(args: string[]): SoakOptions | undefined {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: "string", default: "200000" },
      kills: { type: "string", default: "20" },
      "broker-restarts": { type: "string", default: "3" },
      seed: { type: "string", default: "1" },
      "exactly-once": { type: "boolean", default: false },
      rate: { type: "string", default: "1000" },
      "producer-kills": { type: "string", default: "3" },
      "down-seconds": { type: "string", default: "3" },
      port: { type: "string", default: "39092" },
      "state-dir": { type: "string", default: join(ROOT, ".churnctl", "soak-broker") },
      "keep-broker": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const int = (name: string, text: string, min: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`--${name}: expected an integer ≥ ${min}, got '${text}'`);
    }
    return value;
  };
  const options: SoakOptions = {
    events: int("events", values.events, 100),
    kills: int("kills", values.kills, 0),
    brokerRestarts: int("broker-restarts", values["broker-restarts"], 0),
    seed: int("seed", values.seed, 0),
    exactlyOnce: values["exactly-once"],
    rate: int("rate", values.rate, 10),
    port: int("port", values.port, 1024),
    producerKills: int("producer-kills", values["producer-kills"], 0),
    downSeconds: Number(values["down-seconds"]),
    stateDir: resolve(values["state-dir"]),
    keepBroker: values["keep-broker"],
  };
  if (options.port === 19092) throw new Error("--port 19092 is the shared broker's: the soak restarts its broker");
  return options;
}

const log = (line: string) => console.error(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);

/** One broker restart and how long the group took to commit again. */
interface RestartRecord {
  at_s: number;
  down_s: number;
  start_s: number;
  recovery_s: number | null;
}

/** Samples of the group's committed offsets (sum over partitions), polled by the admin client. */
class CommitWatcher {
  readonly samples: { at: number; committed: number }[] = [];
  #stop = false;
  #done: Promise<void> | undefined;
  #connection: ConnectionSettings;
  #group: string;
  #topic: string;

  constructor(connection: ConnectionSettings, group: string, topic: string) {
    this.#connection = connection;
    this.#group = group;
    this.#topic = topic;
  }

  start(): void {
    this.#done = (async () => {
      while (!this.#stop) {
        const committed = await this.read().catch(() => undefined);
        if (committed !== undefined) this.samples.push({ at: performance.now(), committed });
        await sleep(250);
      }
    })();
  }

  /** Sum of the group's committed offsets (partitions without one count 0). */
  async read(): Promise<number> {
    return await withAdmin(this.#connection, async (admin) => {
      const offsets = await admin.fetchOffsets({ groupId: this.#group, topics: [this.#topic] });
      return offsets[0]?.partitions.reduce((sum, item) => sum + Math.max(0, Number(item.offset)), 0) ?? 0;
      // retries: 0 fails with 'No brokers in the broker pool' (kafkajs loads metadata lazily).
    }, { retries: 2, deadlineMs: 3000 });
  }

  /** Highest sum seen up to `time`. */
  highestUntil(time: number): number {
    let best = 0;
    for (const sample of this.samples) if (sample.at <= time) best = Math.max(best, sample.committed);
    return best;
  }

  /** First sample after `time` above `baseline`, as seconds after `time`. */
  firstAbove(time: number, baseline: number): number | null {
    const sample = this.samples.find((item) => item.at >= time && item.committed > baseline);
    return sample ? (sample.at - time) / 1000 : null;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/** Keeps `count` consumers running: a SIGKILLed or crashed one is restarted. */
class ConsumerGroup {
  #slots: (Child | undefined)[];
  #generation = 0;
  #args: string[];
  #env: Record<string, string>;
  #logDir: string;
  #stopping = false;
  #instanceIds: boolean;
  /** Exits the soak did not cause, with their codes. */
  readonly crashes: { slot: number; code: number; log: string; atStart: boolean }[] = [];
  restarts = 0;

  constructor(count: number, args: string[], env: Record<string, string>, logDir: string, instanceIds: boolean) {
    this.#slots = new Array(count).fill(undefined);
    this.#args = args;
    this.#env = env;
    this.#logDir = logDir;
    this.#instanceIds = instanceIds;
  }

  async startAll(): Promise<void> {
    for (let slot = 0; slot < this.#slots.length; slot++) await this.#start(slot);
  }

  async #start(slot: number): Promise<void> {
    const generation = ++this.#generation;
    // Exactly-once: the same instance id on restart fences the killed member's zombie transaction.
    const extra = this.#instanceIds ? ["--instance-id", `soak-${slot}`] : [];
    const child = await startCli(
      [...this.#args, ...extra],
      this.#env,
      join(this.#logDir, `consumer-${slot}-${generation}.log`),
    );
    this.#slots[slot] = child;
    child.status.then(async (status) => {
      if (this.#slots[slot] !== child || this.#stopping) return;
      // Exited on its own (not our SIGKILL): a crash to report; restart it like a supervisor would.
      // "consumed 0" in its last words: it never got going (started while the broker was down), not a mid-run crash.
      const text = await Deno.readTextFile(child.logFile).catch(() => "");
      const atStart = /stopped without committing the failed batch; consumed 0,/.test(text.slice(-4000));
      this.crashes.push({ slot, code: status.code, log: child.logFile, atStart });
      log(`consumer ${slot} exited on its own with code ${status.code} (${child.logFile}); restarting`);
      await sleep(1000);
      if (!this.#stopping) {
        this.restarts++;
        await this.#start(slot);
      }
    });
  }

  /** SIGKILLs the consumer in `slot` and starts a new one. */
  async kill(slot: number): Promise<void> {
    const child = this.#slots[slot];
    if (!child) return;
    this.#slots[slot] = undefined;
    killHard(child.pid);
    await child.status;
    this.restarts++;
    await this.#start(slot);
  }

  /** SIGTERM to all; SIGKILL after `graceMs`. Returns the exit codes. */
  async stopAll(graceMs: number): Promise<number[]> {
    this.#stopping = true;
    const children = this.#slots.filter((child): child is Child => child !== undefined);
    for (const child of children) terminate(child.pid);
    const timer = setTimeout(() => children.forEach((child) => killHard(child.pid)), graceMs);
    const codes = (await Promise.all(children.map((child) => child.status))).map((status) => status.code);
    clearTimeout(timer);
    return codes;
  }
}

/** Runs a `produce --mode streaming` child until it has sent `target`; a failed run is resumed for the rest. */
async function produceSteadily(
  label: string,
  source: string[],
  target: number,
  rate: number,
  env: Record<string, string>,
  logDir: string,
  children: Set<Child>,
): Promise<{ acked: number; runs: number; failures: number }> {
  let acked = 0, runs = 0, failures = 0;
  while (acked < target && runs < 50) {
    runs++;
    const args = [
      "produce",
      "--mode",
      "streaming",
      ...source,
      "--events-per-sec",
      String(rate),
      "--max-events",
      String(target - acked),
      "--json",
    ];
    const child = await startCli(args, env, join(logDir, `producer-${label}.log`));
    children.add(child);
    const [status, stdout] = await Promise.all([child.status, child.stdout]);
    children.delete(child);
    let sent = 0;
    try {
      sent = Number(JSON.parse(stdout).sent) || 0;
    } catch {
      // no summary: counted as nothing acknowledged
    }
    acked += sent;
    if (status.code !== 0) {
      failures++;
      log(
        `producer ${label} exited ${status.code} after ${sent} acknowledged; resuming for the remaining ${
          target - acked
        }`,
      );
      await sleep(1000);
    }
  }
  return { acked, runs, failures };
}

/** Sends the soak's own bad messages at a steady pace; a failed send is retried (a possible duplicate input). */
async function produceBadMessages(
  connection: ConnectionSettings,
  topic: string,
  count: number,
  seconds: number,
  seed: number,
): Promise<{ acked: number; retries: number; kinds: Record<string, number> }> {
  const perKind = Math.max(1, Math.ceil(count / BAD_KINDS.length));
  const messages: OutgoingRecord[] = [];
  const kinds: Record<string, number> = {};
  const samples = BAD_KINDS.map((kind, index) => fc.sample(kind.arbitrary, { seed: seed + index, numRuns: perKind }));
  // Round robin over the kinds, so every kind is sent even when count is small.
  for (let round = 0; round < perKind && messages.length < count; round++) {
    for (const [index, kind] of BAD_KINDS.entries()) {
      if (messages.length >= count) break;
      const message = samples[index][round];
      kinds[kind.name] = (kinds[kind.name] ?? 0) + 1;
      messages.push({
        topic,
        key: message.key,
        value: message.value === null ? null : asBuffer(message.value),
        headers: { [KIND_HEADER]: kind.name, [EXPECT_HEADER]: message.expect },
      });
    }
  }
  // Interleave the kinds over the run.
  const random = seededRandom(seed);
  for (let index = messages.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [messages[index], messages[other]] = [messages[other], messages[index]];
  }
  let writer: RecordWriter | undefined;
  let acked = 0, retries = 0;
  const perTick = Math.max(1, Math.ceil(messages.length / Math.max(1, seconds * 5)));
  const started = performance.now();
  for (let index = 0; index < messages.length;) {
    const batch = messages.slice(index, index + perTick);
    try {
      writer ??= await openProducer(connection, { retries: 3 });
      await writer.send(batch);
      acked += batch.length;
      index += batch.length;
    } catch {
      retries++;
      await writer?.close().catch(() => {});
      writer = undefined;
      await sleep(1000);
      continue;
    }
    const due = started + (index / perTick) * 200;
    await sleep(Math.max(0, due - performance.now()));
  }
  await writer?.close();
  return { acked, retries, kinds };
}

function asBuffer(bytes: Uint8Array): Uint8Array {
  // kafkajs writes a plain Uint8Array as "1,2,3": it needs a Buffer (a view, no copy).
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A CSV of the data set with injected bad rows, in a temp dir (the data file is never copied into the repo). */
async function soakCsv(dir: string, seed: number): Promise<{ path: string; badRows: number } | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(DATA_FILE);
  } catch {
    return undefined;
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const header = lines[0];
  const random = seededRandom(seed);
  const spoilers: ((cells: string[]) => string[])[] = [
    (cells) => (cells[5] = "twelve", cells), // tenure not a number
    (cells) => (cells[1] = "Other", cells), // unknown gender
    (cells) => [...cells, "surplus"], // one cell too many
    (cells) => (cells[18] = "-5", cells), // negative MonthlyCharges
    (cells) => (cells[15] = "Weekly", cells), // unknown contract
  ];
  let bad = 0;
  const rows = lines.slice(1).map((line) => {
    if (random() >= 0.03) return line;
    bad++;
    const cells = line.split(",");
    return spoilers[Math.floor(random() * spoilers.length)](cells).join(",");
  });
  const path = join(dir, "soak-input.csv");
  await Deno.writeTextFile(path, [header, ...rows].join("\n") + "\n");
  return { path, badRows: bad };
}

function table(rows: [string, string | number][]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join("\n");
}

async function main(): Promise<number> {
  let options: SoakOptions | undefined;
  try {
    options = parseFlags(Deno.args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 2;
  }
  if (!options) return 0;
  const startedAt = new Date();
  const wallStart = performance.now();
  const id = crypto.randomUUID().slice(0, 8);
  const workDir = join(ROOT, ".churnctl", "soak", `${startedAt.toISOString().replace(/[:.]/g, "").slice(0, 15)}-${id}`);
  await Deno.mkdir(workDir, { recursive: true });
  const brokerOptions = { port: options.port, stateDir: options.stateDir, progress: log };
  const address = `127.0.0.1:${options.port}`;
  const connection: ConnectionSettings = { brokers: [address], clientId: "churnctl-soak", connectTimeoutMs: 3000 };

  if (options.exactlyOnce && !(await consumerSupportsExactlyOnce())) {
    console.error("error: --exactly-once: 'churnctl consume --help' does not offer --exactly-once yet");
    return 2;
  }
  const up = await brokerUp(brokerOptions);
  if (up.outcome === "external") {
    console.error(`error: a broker the soak did not start answers at ${address}: choose another --port`);
    return 1;
  }
  log(`soak broker at ${address} (${up.outcome}); work dir ${workDir}`);

  const children = new Set<Child>();
  let group: ConsumerGroup | undefined;
  const onSignal = () => {
    log("interrupted: stopping children and the soak broker");
    for (const child of children) killHard(child.pid);
    group?.stopAll(0).finally(async () => {
      if (!options!.keepBroker) await brokerDown(brokerOptions).catch(() => {});
      Deno.exit(130);
    });
  };
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const topics = {
      input: `soak-${id}.raw`,
      output: `soak-${id}.predictions`,
      deadletter: `soak-${id}.deadletter`,
      group: `soak-${id}-group`,
    };
    await withAdmin(connection, (admin) =>
      ensureTopics(admin, [
        { topic: topics.input, partitions: 4 },
        { topic: topics.output, partitions: 3 },
        { topic: topics.deadletter, partitions: 1 },
      ]));
    const env = {
      CHURNCTL_BROKERS: address,
      CHURNCTL_INPUT_TOPIC: topics.input,
      CHURNCTL_OUTPUT_TOPIC: topics.output,
      CHURNCTL_DEADLETTER_TOPIC: topics.deadletter,
      CHURNCTL_GROUP: topics.group,
      CHURNCTL_STATE_DIR: workDir,
    };

    // The mix: ~2 % the soak's own bad messages, ~30 % CSV rows (3 % of them spoiled), the rest synthetic.
    const csv = await soakCsv(workDir, options.seed);
    const badCount = Math.max(BAD_KINDS.length, Math.round(options.events * 0.02));
    const csvCount = csv ? Math.round(options.events * 0.3) : 0;
    const syntheticCount = options.events - badCount - csvCount;
    const seconds = options.events / options.rate;
    log(
      `producing ${options.events} events over ~${
        seconds.toFixed(0)
      } s: ${syntheticCount} synthetic, ${csvCount} CSV rows` +
        `${csv ? ` (${csv.badRows} spoiled rows in the file)` : " (no data file)"}, ${badCount} raw bad messages`,
    );

    const consumeArgs = [
      "consume",
      "--mode",
      "streaming",
      "--session-timeout-ms",
      "6000",
      "--log-format",
      "json",
      "--progress-interval-ms",
      "1000",
      "--shutdown-timeout",
      "20",
      ...(options.exactlyOnce ? ["--exactly-once"] : []),
    ];
    group = new ConsumerGroup(2, consumeArgs, env, workDir, options.exactlyOnce);
    await group.startAll();
    const watcher = new CommitWatcher(connection, topics.group, topics.input);
    watcher.start();

    const productionStart = performance.now();
    const producers = Promise.all([
      produceSteadily(
        "synthetic",
        ["--synthetic", "--seed", String(options.seed)],
        syntheticCount,
        options.rate * syntheticCount / options.events,
        env,
        workDir,
        children,
      ),
      csvCount > 0
        ? produceSteadily(
          "csv",
          ["--input", csv!.path, "--send-invalid", "--order", "random", "--seed", String(options.seed)],
          csvCount,
          options.rate * csvCount / options.events,
          env,
          workDir,
          children,
        )
        : Promise.resolve({ acked: 0, runs: 0, failures: 0 }),
      produceBadMessages(connection, topics.input, badCount, seconds, options.seed),
    ]);

    // The chaos schedule, seeded: kills anywhere in 5–95 % of the run, broker restarts spread over 15–85 %.
    const random = seededRandom(options.seed + 1);
    const events: { at: number; what: "kill" | "broker" }[] = [];
    for (let index = 0; index < options.kills; index++) {
      events.push({ at: seconds * (0.05 + 0.9 * random()), what: "kill" });
    }
    for (let index = 0; index < options.brokerRestarts; index++) {
      const slot = 0.15 + 0.7 * (index + 0.5) / options.brokerRestarts;
      events.push({ at: seconds * (slot + (random() - 0.5) * 0.1), what: "broker" });
    }
    events.sort((a, b) => a.at - b.at);
    const restarts: RestartRecord[] = [];
    const pending: Promise<void>[] = [];
    let killsDone = 0;
    for (const event of events) {
      await sleep(Math.max(0, productionStart + event.at * 1000 - performance.now()));
      if (event.what === "kill") {
        const slot = Math.floor(random() * 2);
        log(`SIGKILL consumer ${slot} (${++killsDone}/${options.kills})`);
        pending.push(group.kill(slot));
      } else {
        const at = (performance.now() - productionStart) / 1000;
        const stopStarted = performance.now();
        const stopped = await brokerStop(brokerOptions);
        log(`broker stopped (${stopped.message}); down for ${options.downSeconds} s`);
        await sleep(options.downSeconds * 1000);
        const started = await brokerStart(brokerOptions);
        const answered = performance.now();
        const down = (answered - stopStarted) / 1000;
        log(
          `broker answers again after ${(started.elapsedMs / 1000).toFixed(1)} s of start-up (${
            down.toFixed(1)
          } s unavailable)`,
        );
        restarts.push({
          at_s: round(at),
          down_s: round(down),
          start_s: round(started.elapsedMs / 1000),
          recovery_s: null,
        });
        const record = restarts[restarts.length - 1];
        const baseline = watcher.highestUntil(stopStarted);
        pending.push((async () => {
          for (let waited = 0; waited < 300 && record.recovery_s === null; waited++) {
            record.recovery_s = watcher.firstAbove(answered, baseline);
            if (record.recovery_s === null) await sleep(1000);
          }
          if (record.recovery_s !== null) record.recovery_s = round(record.recovery_s);
          log(
            `recovery after restart at ${record.at_s} s: first commit ${
              record.recovery_s ?? "never"
            } s after the broker answered`,
          );
        })());
      }
    }
    const [synthetic, csvRun, bad] = await producers;
    const productionSeconds = (performance.now() - productionStart) / 1000;
    log(
      `producers done in ${
        productionSeconds.toFixed(0)
      } s: synthetic ${synthetic.acked}, CSV ${csvRun.acked}, bad ${bad.acked} acknowledged`,
    );

    // Drain: the group's committed offsets reach every partition's end.
    const drainStart = performance.now();
    let drained = false;
    let lastLag = -1;
    while (performance.now() - drainStart < 300_000) {
      const lag = await withAdmin(connection, (admin) => groupLag(admin, topics.group, topics.input)).catch(() =>
        undefined
      );
      if (lag) {
        lastLag = lag.totalLag;
        if (lag.totalLag === 0 && lag.partitions.every((item) => item.committed >= 0)) {
          drained = true;
          break;
        }
      }
      await sleep(1000);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const consumeSeconds = (performance.now() - productionStart) / 1000;
    // Kills still restarting, and recovery measurements (each ends once a commit after its restart is seen).
    await Promise.all(pending);
    log(
      drained
        ? `group drained ${drainSeconds.toFixed(1)} s after the producers finished`
        : `group did NOT drain: lag ${lastLag}`,
    );
    await watcher.stop();
    const exitCodes = await group.stopAll(30_000);

    let crash: CrashResumeResult | undefined;
    if (options.producerKills > 0 && csv) {
      log(`producer crash-resume: ${options.producerKills} SIGKILLs of produce --mode batch --checkpoint`);
      crash = await producerCrashResume({
        connection,
        csv: DATA_FILE,
        topic: `soak-${id}.crash`,
        kills: options.producerKills,
        batchSize: 100,
        seed: options.seed,
        workDir,
      });
      log(`producer crash-resume: ${JSON.stringify(crash)}`);
    }

    log("reading the three topics back (src/kafka/reader.ts, read_committed, a throwaway group)");
    const [inputs, predictions, deadLetters] = await Promise.all([
      readTopic(connection, topics.input, { idleMs: 15000 }),
      readTopic(connection, topics.output, { idleMs: 15000 }),
      readTopic(connection, topics.deadletter, { idleMs: 15000 }),
    ]);
    const totals: Accounting = account(inputs, predictions, deadLetters);
    const acked = synthetic.acked + csvRun.acked + bad.acked;
    const recoveries = restarts.map((item) => item.recovery_s);
    const maxRecovery = recoveries.length === 0
      ? 0
      : recoveries.some((value) => value === null)
      ? null
      : Math.max(...(recoveries as number[]));
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const report = {
      started_at: startedAt.toISOString(),
      command: `deno task soak ${Deno.args.join(" ")}`.trim(),
      guarantee: options.exactlyOnce ? "exactly-once" : "at-least-once",
      seed: options.seed,
      rate: options.rate,
      events_target: options.events,
      producer_acked: acked,
      producer_acked_not_on_topic: Math.max(0, acked - totals.events),
      producer_runs: { synthetic: synthetic.runs, csv: csvRun.runs, bad_send_retries: bad.retries },
      producer_failures: synthetic.failures + csvRun.failures,
      kills: killsDone,
      broker_restarts: restarts.length,
      consumer_crashes: group.crashes.length,
      consumer_crashes_mid_run: group.crashes.filter((crash) => !crash.atStart).length,
      consumer_crash_logs: group.crashes.map((crash) => crash.log),
      consumer_exit_codes_at_stop: exitCodes,
      ...totals,
      bad_kinds_sent: Object.keys(bad.kinds).length,
      drained,
      drain_s: round(drainSeconds),
      recovery_s: recoveries,
      restarts,
      max_recovery_s: maxRecovery,
      msgs_per_s: round(totals.events / consumeSeconds),
      production_s: round(productionSeconds),
      wall_s: round(wallSeconds),
      producer_crash_resume: crash ?? null,
      topics,
      logs: workDir,
    };
    const failures: string[] = [];
    if (totals.missing > 0) failures.push(`${totals.missing} missing`);
    if (options.exactlyOnce && totals.duplicates > 0) {
      failures.push(`${totals.duplicates} duplicates in exactly-once mode`);
    }
    if (totals.orphans > 0) failures.push(`${totals.orphans} orphan outputs`);
    if (totals.conflicting > 0) failures.push(`${totals.conflicting} inputs both predicted and dead-lettered`);
    if (totals.reason_mismatches > 0) {
      failures.push(`${totals.reason_mismatches} dead letters with an unexpected reason`);
    }
    if (totals.altered_dead_letters > 0) {
      failures.push(`${totals.altered_dead_letters} dead letters not byte-identical`);
    }
    if (totals.event_id_mismatches > 0) {
      failures.push(`${totals.event_id_mismatches} predictions with another event_id`);
    }
    if (acked > totals.events) failures.push(`${acked - totals.events} acknowledged events not on the input topic`);
    if (!drained) failures.push("the group never drained (a stalled partition)");
    if (crash && !crash.ok) failures.push("producer crash-resume check failed");
    const reportPath = join(ROOT, "reports", `soak-${startedAt.toISOString().replace(/[:.]/g, "").slice(0, 15)}Z.json`);
    await Deno.mkdir(join(ROOT, "reports"), { recursive: true });
    await Deno.writeTextFile(
      reportPath,
      JSON.stringify({ ...report, ok: failures.length === 0, failures }, null, 2) + "\n",
    );

    const reasons = Object.entries(totals.dead_letters).map(([name, count]) => `${name} ${count}`).join(", ");
    console.log(`\nsoak ${failures.length === 0 ? "PASSED" : "FAILED"} (${report.guarantee}, seed ${options.seed})`);
    console.log(table([
      ["events on the input topic", `${totals.events} (target ${options.events}, producers acknowledged ${acked})`],
      ["consumer SIGKILLs", killsDone],
      [
        "consumer exits on their own",
        `${group.crashes.length} (${group.crashes.filter((crash) => crash.atStart).length} at start-up, broker down)`,
      ],
      ["producer exits (resumed)", synthetic.failures + csvRun.failures],
      ["broker restarts", restarts.length],
      ["predicted", totals.predicted],
      ["dead-lettered", totals.dead_lettered],
      ["missing", totals.missing],
      ["duplicates", totals.duplicates],
      ["dead letters by reason", reasons || "none"],
      ["recovery after restarts (s)", recoveries.map((value) => value ?? "never").join(", ") || "-"],
      ["max recovery (s)", maxRecovery ?? "never"],
      ["msgs/s (first event → drained)", report.msgs_per_s],
      [
        "producer crash-resume",
        crash
          ? `${crash.kills} kills, ${crash.rows} rows, missing ${crash.missing_rows}, duplicates ${crash.duplicates} (≤ ${crash.max_allowed_duplicates})`
          : "skipped",
      ],
      ["wall time (s)", report.wall_s],
      ["report", reportPath],
    ]));
    if (failures.length > 0) console.log(`failures: ${failures.join("; ")}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    for (const child of children) killHard(child.pid);
    await group?.stopAll(5000).catch(() => {});
    if (!options.keepBroker) {
      const down = await brokerDown(brokerOptions).catch((error) => ({ message: String(error) }));
      log(down.message);
    }
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

if (import.meta.main) Deno.exit(await main());
