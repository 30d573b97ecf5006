/**
 * Producer crash-resume: SIGKILL `churnctl produce --mode batch --checkpoint …`
 * part-way several times, resume it each time, let the last run finish, then
 * read the topic back and check that every CSV row reached it at least once
 * and that duplicates stay within one batch per kill.
 *
 * Used by the soak (against its own broker) and by
 * tests/commands/produce_crash_test.ts (against the shared one).
 *
 * @module
 */
import { join } from "node:path";
import { ensureTopics, withAdmin } from "../../src/kafka/admin.ts";
import type { ConnectionSettings } from "../../src/kafka/client.ts";
import { readTopic } from "../../src/kafka/reader.ts";
import { seededRandom } from "../../src/pipeline/synthetic.ts";
import { killHard, runCliToEnd, sleep, startCli } from "./children.ts";

/** Options of {@link producerCrashResume}. */
export interface CrashResumeOptions {
  /** Where to connect. */
  connection: ConnectionSettings;
  /** CSV with the data set's header; every row must be valid. */
  csv: string;
  /** Topic to fill (created with 3 partitions). */
  topic: string;
  /** SIGKILLs wanted. */
  kills: number;
  /** Rows per batch (the most a kill may duplicate). */
  batchSize: number;
  /** Seed of the kill moments. */
  seed: number;
  /** Directory for the checkpoint and the logs. */
  workDir: string;
}

/** What the crash-resume run found. */
export interface CrashResumeResult {
  /** Rows in the CSV. */
  rows: number;
  /** SIGKILLs that landed part-way (a run that finished first is not one). */
  kills: number;
  /** Producer runs in all (kills + the finishing run). */
  runs: number;
  /** Messages on the topic. */
  on_topic: number;
  /** CSV rows (customerIDs) that never reached the topic: must be 0. */
  missing_rows: number;
  /** Messages beyond one per row. */
  duplicates: number;
  /** kills × batch size: the most duplicates allowed. */
  max_allowed_duplicates: number;
  /** missing_rows = 0, duplicates within the bound, the last run exited 0. */
  ok: boolean;
}

/** Reads the customerIDs of a CSV whose first column is customerID (the data set has no quoted commas there). */
export async function csvCustomerIds(path: string): Promise<string[]> {
  const lines = (await Deno.readTextFile(path)).split(/\r?\n/).slice(1);
  return lines.filter((line) => line.trim() !== "").map((line) => line.slice(0, line.indexOf(",")));
}

async function checkpointRow(path: string): Promise<number> {
  try {
    return Number(JSON.parse(await Deno.readTextFile(path)).nextRow) || 0;
  } catch {
    return 0;
  }
}

/** Runs the kill-and-resume sequence; see the module doc. */
export async function producerCrashResume(options: CrashResumeOptions): Promise<CrashResumeResult> {
  const { connection, csv, topic, batchSize, workDir } = options;
  await Deno.mkdir(workDir, { recursive: true });
  await withAdmin(connection, (admin) => ensureTopics(admin, [{ topic, partitions: 3 }]));
  const checkpoint = join(workDir, `crash-${topic}.checkpoint.json`);
  await Deno.remove(checkpoint).catch(() => {});
  const env = { CHURNCTL_BROKERS: connection.brokers.join(","), CHURNCTL_INPUT_TOPIC: topic };
  const args = [
    "produce",
    "--mode",
    "batch",
    "--input",
    csv,
    "--checkpoint",
    checkpoint,
    "--batch-size",
    String(batchSize),
    "--json",
  ];
  const random = seededRandom(options.seed);
  let kills = 0;
  let runs = 0;
  let lastCode = -1;
  for (let attempt = 0; kills < options.kills && attempt < options.kills * 3; attempt++) {
    runs++;
    const child = await startCli(args, env, join(workDir, "crash-producer.log"));
    let finished = false;
    child.status.then(() => finished = true);
    const before = await checkpointRow(checkpoint);
    // Kill once the run has acknowledged a batch of its own, a seeded moment later: part-way, mid-batch or not.
    while (!finished && (await checkpointRow(checkpoint)) <= before) await sleep(10);
    if (!finished) await sleep(Math.floor(random() * 120));
    if (finished) {
      lastCode = (await child.status).code;
      break;
    }
    killHard(child.pid);
    await child.status;
    kills++;
  }
  if (lastCode !== 0) {
    runs++;
    lastCode = (await runCliToEnd(args, env, join(workDir, "crash-producer.log"))).code;
  }
  const ids = await csvCustomerIds(csv);
  const messages = await readTopic(connection, topic, { idleMs: 5000 });
  const seen = new Map<string, number>();
  for (const message of messages) seen.set(message.key ?? "", (seen.get(message.key ?? "") ?? 0) + 1);
  const missing = ids.filter((id) => !seen.has(id)).length;
  const duplicates = messages.length - seen.size;
  const maxAllowed = kills * batchSize;
  return {
    rows: ids.length,
    kills,
    runs,
    on_topic: messages.length,
    missing_rows: missing,
    duplicates,
    max_allowed_duplicates: maxAllowed,
    ok: missing === 0 && duplicates <= maxAllowed && lastCode === 0,
  };
}
