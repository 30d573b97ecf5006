/**
 * `deno task demo`: the whole pipeline in one command, on a fresh machine.
 *
 * 1. a broker: one that already answers on 127.0.0.1:19092 (Redpanda from
 *    `docker compose up -d`, or a running local Kafka), else the local Kafka
 *    of `scripts/broker.ts`, started now and stopped at the end;
 * 2. `churnctl setup` (the default topics, so Console and users see them);
 * 3. the streaming consumer, then a streaming producer for --seconds (30) at
 *    --rate (100 events/s) from ../shared/data/telco-customer-churn.csv when
 *    present (synthetic customers otherwise), with invalid rows sent as they
 *    are, plus five poison messages so the dead-letter path shows;
 * 4. SIGINT to the producer, SIGTERM to the consumer once it caught up;
 * 5. `churnctl summary` of the demo's own window (`--since` its start) as a
 *    table on stdout and as an HTML page under reports/, and where to open it.
 *
 * Every process it starts is stopped before it exits, also on Ctrl+C. The
 * children's log lines go to <state dir>/demo/*.log so the screen stays
 * readable; their paths are printed.
 *
 * @module
 */
import { parseScriptArgs } from "./script_args.ts";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brokerDown, brokerUp } from "./broker.ts";
import { groupLag, withAdmin } from "../src/kafka/admin.ts";
import type { ConnectionSettings } from "../src/kafka/client.ts";
import { openProducer } from "../src/kafka/producer.ts";
import { CHILD_PERMISSIONS, stopChild } from "../src/schedule/child.ts";
import { fileStamp } from "../src/schedule/jobs.ts";

const ROOT = resolve(fileURLToPath(new URL("../", import.meta.url)));
const SHARED_DATA = resolve(ROOT, "../shared/data/telco-customer-churn.csv");
const MAIN = join(ROOT, "main.ts");
const GROUP = Deno.env.get("CHURNCTL_GROUP") ?? "churn-prediction-group";
const INPUT_TOPIC = Deno.env.get("CHURNCTL_INPUT_TOPIC") ?? "telco.raw.customers";

/** Prints a step line on stderr (stdout carries the summary table). */
function say(line: string): void {
  console.error(`demo: ${line}`);
}

/** A churnctl child whose stderr goes to a log file. */
interface Running {
  name: string;
  child: Deno.ChildProcess;
  log: string;
  done: Promise<void>;
}

function churnctl(args: string[], logFile: string, name: string): Running {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHILD_PERMISSIONS, MAIN, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const file = Deno.openSync(logFile, { write: true, create: true, truncate: true });
  const stdoutFile = Deno.openSync(`${logFile}.out`, { write: true, create: true, truncate: true });
  const done = Promise.all([child.stderr.pipeTo(file.writable), child.stdout.pipeTo(stdoutFile.writable)]).then(
    () => {},
  );
  return { name, child, log: logFile, done };
}

async function runToEnd(args: string[], options: { capture?: boolean } = {}): Promise<{ code: number; out: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CHILD_PERMISSIONS, MAIN, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: options.capture ? "piped" : "inherit",
    stderr: "inherit",
  }).output();
  return { code: output.code, out: options.capture ? new TextDecoder().decode(output.stdout) : "" };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function lagNow(connection: ConnectionSettings): Promise<{ members: number; lag: number } | undefined> {
  try {
    const lag = await withAdmin(connection, (admin) => groupLag(admin, GROUP, INPUT_TOPIC));
    return { members: lag.members, lag: lag.totalLag };
  } catch {
    return undefined;
  }
}

/** Messages the consumer must dead-letter, one per common reason. */
const POISON: { key: string; value: string | null }[] = [
  { key: "poison-json", value: "{not json" },
  { key: "poison-json-2", value: "customerID=1234" },
  { key: "poison-missing", value: JSON.stringify({ customerID: "0000-POISON", event_ts: new Date().toISOString() }) },
  { key: "poison-array", value: "[1, 2, 3]" },
  { key: "poison-tombstone", value: null },
];

async function sendPoison(connection: ConnectionSettings): Promise<void> {
  const writer = await openProducer(connection);
  try {
    await writer.send(POISON.map((item) => ({ topic: INPUT_TOPIC, key: item.key, value: item.value })));
  } finally {
    await writer.close();
  }
}

async function main(): Promise<number> {
  const values = parseScriptArgs("demo", Deno.args, {
    seconds: { type: "string", default: "30" },
    rate: { type: "string", default: "100" },
  });
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  if (!(seconds > 0) || !(rate > 0)) {
    console.error("error: demo: --seconds and --rate must be positive numbers");
    return 2;
  }
  const started = performance.now();
  const stateDir = resolve(ROOT, Deno.env.get("CHURNCTL_STATE_DIR") ?? ".churnctl");
  const reportsDir = resolve(ROOT, Deno.env.get("CHURNCTL_REPORTS_DIR") ?? "reports");
  const logDir = join(stateDir, "demo");
  await Deno.mkdir(logDir, { recursive: true });
  const connection: ConnectionSettings = {
    brokers: (Deno.env.get("CHURNCTL_BROKERS") ?? "127.0.0.1:19092").split(","),
    clientId: "churnctl-demo",
    connectTimeoutMs: 3000,
  };

  const children: Running[] = [];
  let startedBroker = false;
  let interrupted = false;
  const cleanup = async () => {
    for (const running of children.reverse()) {
      await stopChild(running.child, 20000).catch(() => {});
      await running.done.catch(() => {});
    }
    children.length = 0;
    if (startedBroker) {
      startedBroker = false;
      say("stopping the broker the demo started");
      say((await brokerDown()).message);
    }
  };
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    say("interrupted: stopping what the demo started");
    cleanup().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);

  try {
    say("1/5 broker");
    const up = await brokerUp({ progress: (line) => say(`  ${line}`) });
    startedBroker = up.outcome === "started";
    say(
      up.outcome === "started"
        ? `  started a local Kafka at ${up.address} in ${(up.elapsedMs / 1000).toFixed(1)} s (stopped again at the end)`
        : `  using the broker already answering at ${up.address}`,
    );

    say("2/5 topics: churnctl setup");
    if ((await runToEnd(["setup"], { capture: true })).code !== 0) throw new Error("churnctl setup failed");

    const since = new Date(Date.now() - 1000).toISOString();
    say(`3/5 streaming consumer (log ${join(logDir, "consumer.log")})`);
    const consumer = churnctl(["consume", "--mode", "streaming"], join(logDir, "consumer.log"), "consumer");
    children.push(consumer);
    for (let waited = 0; waited < 30000; waited += 500) {
      if (((await lagNow(connection))?.members ?? 0) > 0) break;
      await sleep(500);
    }

    // The data set has no invalid rows: a few poison messages show the dead-letter path in the summary.
    await sendPoison(connection);
    say(`  sent ${POISON.length} poison messages (the dead-letter path at work)`);

    const input = await Deno.stat(SHARED_DATA).then(() => SHARED_DATA, () => undefined);
    const source = input ? ["--input", input, "--send-invalid"] : ["--synthetic"];
    say(
      `4/5 streaming producer: ${rate} events/s for ${seconds} s from ${input ?? "synthetic customers"} (log ${
        join(logDir, "producer.log")
      })`,
    );
    const producer = churnctl(
      ["produce", "--mode", "streaming", "--events-per-sec", String(rate), ...source],
      join(logDir, "producer.log"),
      "producer",
    );
    children.push(producer);
    for (let elapsed = 0; elapsed < seconds; elapsed += 10) {
      await sleep(Math.min(10, seconds - elapsed) * 1000);
      const lag = await lagNow(connection);
      say(`  ${Math.min(seconds, elapsed + 10)} s: consumer lag ${lag?.lag ?? "?"}`);
    }
    say("  stopping the producer (SIGINT)");
    producer.child.kill("SIGINT");
    const producerStatus = await producer.child.status;
    await producer.done;
    children.splice(children.indexOf(producer), 1);
    say(`  producer exited ${producerStatus.code}: ${(await Deno.readTextFile(`${producer.log}.out`)).trim()}`);
    for (let waited = 0; waited < 15000; waited += 500) {
      if ((await lagNow(connection))?.lag === 0) break;
      await sleep(500);
    }
    say("  stopping the consumer (SIGTERM)");
    const consumerStatus = await stopChild(consumer.child, 30000);
    await consumer.done;
    children.splice(children.indexOf(consumer), 1);
    say(`  consumer exited ${consumerStatus.code}: ${(await Deno.readTextFile(`${consumer.log}.out`)).trim()}`);

    say(`5/5 summary since ${since}`);
    const html = join(reportsDir, `demo-${fileStamp(Date.now())}.html`);
    const written = await runToEnd([
      "summary",
      "--since",
      since,
      "--format",
      "html",
      "--out",
      html,
      "--log-level",
      "warn",
    ]);
    if (written.code !== 0) throw new Error("churnctl summary --format html failed");
    const table = await runToEnd(["summary", "--since", since, "--log-level", "warn"]);
    if (table.code !== 0) throw new Error("churnctl summary failed");
    await cleanup();
    const wall = (performance.now() - started) / 1000;
    console.log(`\nHTML report: ${html}`);
    console.log(`Open it in a browser: file://${html}  (or: xdg-open '${html}' on Linux, open '${html}' on macOS)`);
    console.log(`Demo finished in ${wall.toFixed(1)} s.`);
    return producerStatus.code === 0 && consumerStatus.code === 0 ? 0 : 1;
  } catch (error) {
    console.error(`error: demo: ${(error as Error).message}`);
    return 1;
  } finally {
    await cleanup();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

Deno.exit(await main());
