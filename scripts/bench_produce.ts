/**
 * `deno task bench:produce`: records/s of `churnctl produce --mode batch` to
 * the local broker, measured as a user runs it (a child process, gzip,
 * idempotent, acks=all). The input is a CSV of synthetic customers in the
 * data set's format, large enough for a steady state (the shared file's
 * 5,634 rows take well under a second, mostly start-up).
 *
 * Flags: --rows N (default 300000), --batch-size N (repeatable list,
 * default 100,1000,5000), --synthetic (also run the generator as source),
 * --brokers host:port.
 *
 * @module
 */
import { parseScriptArgs } from "./script_args.ts";
import { ensureTopics, withAdmin } from "../src/kafka/admin.ts";
import { CSV_COLUMNS } from "../src/schema/customer.ts";
import { SyntheticCustomers } from "../src/pipeline/synthetic.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const values = parseScriptArgs("bench:produce", Deno.args, {
  rows: { type: "string", default: "300000" },
  "batch-size": { type: "string", default: "100,1000,5000" },
  synthetic: { type: "boolean", default: false },
  brokers: { type: "string", default: Deno.env.get("CHURNCTL_BROKERS") ?? "127.0.0.1:19092" },
});
const rows = Number(values.rows);
const batchSizes = values["batch-size"].split(",").map(Number);
const connection = { brokers: values.brokers.split(","), clientId: "churnctl-bench", connectTimeoutMs: 5000 };

/** Writes `count` synthetic customers as a CSV with the data set's header. */
async function writeCsv(path: string, count: number): Promise<void> {
  const customers = new SyntheticCustomers({ seed: 42 });
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = file.writable.getWriter();
  const encoder = new TextEncoder();
  await writer.write(encoder.encode(CSV_COLUMNS.join(",") + "\n"));
  let chunk: string[] = [];
  for (let index = 0; index < count; index++) {
    const customer = customers.next() as unknown as Record<string, unknown>;
    chunk.push(CSV_COLUMNS.map((column) => customer[column] ?? (column === "TotalCharges" ? " " : "")).join(","));
    if (chunk.length === 10000) {
      await writer.write(encoder.encode(chunk.join("\n") + "\n"));
      chunk = [];
    }
  }
  if (chunk.length > 0) await writer.write(encoder.encode(chunk.join("\n") + "\n"));
  await writer.close();
}

interface Outcome {
  label: string;
  sent: number;
  failed: number;
  ratePerSec: number;
  wallSec: number;
}

async function runProduce(label: string, args: string[], topic: string): Promise<Outcome> {
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "produce", "--mode", "batch", "--json", "--log-level", "warn", ...args],
    env: { CHURNCTL_BROKERS: values.brokers, CHURNCTL_INPUT_TOPIC: topic, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wallSec = (performance.now() - started) / 1000;
  const text = new TextDecoder().decode(output.stdout).trim();
  if (output.code !== 0 || !text) {
    throw new Error(`${label}: exit ${output.code}: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  const summary = JSON.parse(text);
  return { label, sent: summary.sent, failed: summary.failed, ratePerSec: summary.ratePerSec, wallSec };
}

const temp = await Deno.makeTempDir({ prefix: "churnctl-bench-" });
const topics: string[] = [];
try {
  const csv = `${temp}/customers.csv`;
  await writeCsv(csv, rows);
  console.log(
    `input: ${rows.toLocaleString("en-US")} synthetic rows (${((await Deno.stat(csv)).size / 1e6).toFixed(1)} MB) ` +
      `→ ${values.brokers}, topic of 3 partitions, gzip, idempotent, acks=all`,
  );
  const outcomes: Outcome[] = [];
  const sources: [string, string[]][] = [["csv", ["--input", csv]]];
  if (values.synthetic) sources.push(["synthetic", ["--synthetic", "--max-events", String(rows), "--seed", "42"]]);
  for (const [source, sourceArgs] of sources) {
    for (const batchSize of batchSizes) {
      const topic = `bench-produce-${crypto.randomUUID().slice(0, 8)}`;
      topics.push(topic);
      await withAdmin(connection, (admin) => ensureTopics(admin, [{ topic, partitions: 3 }]));
      const outcome = await runProduce(
        `${source} batch-size ${batchSize}`,
        [...sourceArgs, "--batch-size", String(batchSize), "--checkpoint", `${temp}/${topic}.json`],
        topic,
      );
      outcomes.push(outcome);
      console.log(
        `${outcome.label.padEnd(24)} ${Math.round(outcome.ratePerSec).toLocaleString("en-US").padStart(8)} records/s` +
          `  (${outcome.sent.toLocaleString("en-US")} sent, ${outcome.failed} failed, ${
            outcome.wallSec.toFixed(1)
          } s wall incl. start-up)`,
      );
    }
  }
  const best = outcomes.reduce((a, b) => (b.ratePerSec > a.ratePerSec ? b : a));
  console.log(`best: ${Math.round(best.ratePerSec).toLocaleString("en-US")} records/s (${best.label})`);
} finally {
  await withAdmin(connection, (admin) => admin.deleteTopics({ topics })).catch(() => {});
  await Deno.remove(temp, { recursive: true });
}
