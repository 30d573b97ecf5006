import assert from "node:assert/strict";
import { readTopic } from "../../src/kafka/reader.ts";
import { validateCustomerEvent } from "../../src/schema/customer.ts";
import { CSV_COLUMNS } from "../../src/schema/customer.ts";
import { DATA_FILE, runCli, spawnCli, testConnection, topicEnv, uniqueTopics } from "../support.ts";

const decoder = new TextDecoder();
const VALID_ROWS = 5634;

async function setupTopics(prefix: string): Promise<Record<string, string>> {
  const env = topicEnv(uniqueTopics(prefix));
  const setup = await runCli(["setup"], { env });
  assert.equal(setup.code, 0, setup.stderr);
  return env;
}

async function dataKeys(): Promise<string[]> {
  const lines = (await Deno.readTextFile(DATA_FILE)).trim().split("\n").slice(1);
  return lines.map((line) => line.split(",")[0]);
}

Deno.test("produce --dry-run", async (t) => {
  await t.step("produce --dry-run writes every row as a schema-valid JSON line with no broker", async () => {
    const result = await runCli(["produce", "--mode", "batch", "--dry-run", "--input", DATA_FILE], {
      env: { CHURNCTL_BROKERS: "127.0.0.1:1" },
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split("\n");
    assert.equal(lines.length, VALID_ROWS);
    const ids = new Set<string>();
    for (const line of lines) {
      const value = JSON.parse(line);
      assert.ok(validateCustomerEvent(value).ok, line);
      ids.add(value.event_id);
    }
    assert.equal(ids.size, VALID_ROWS);
    assert.match(result.stderr, /dry run: wrote 5634 events/);
  });
  await t.step("produce --dry-run --synthetic --out writes N lines and a --json summary", async () => {
    const dir = await Deno.makeTempDir();
    const result = await runCli([
      "produce",
      "--dry-run",
      "--synthetic",
      "--max-events",
      "50",
      "--events-per-sec",
      "1000",
      "--seed",
      "4",
      "--out",
      `${dir}/e.jsonl`,
      "--json",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.sent, 50);
    assert.equal(summary.seed, 4);
    assert.equal((await Deno.readTextFile(`${dir}/e.jsonl`)).trim().split("\n").length, 50);
    await Deno.remove(dir, { recursive: true });
  });
  await t.step("produce without the default data file says where to get it in one line", async () => {
    const dir = await Deno.makeTempDir();
    const result = await runCli(["produce", "--dry-run"], { cwd: dir });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split("\n").length, 1);
    assert.match(result.stderr, /Telco Customer Churn.*--input PATH or --synthetic/);
    await Deno.remove(dir, { recursive: true });
  });
});

Deno.test("produce --mode batch", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("produce batch puts every row of the data file on the topic exactly once", async () => {
      const env = await setupTopics("produce-batch");
      const result = await runCli(
        ["produce", "--mode", "batch", "--input", DATA_FILE, "--checkpoint", `${dir}/full.json`, "--json"],
        { env },
      );
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.equal(summary.sent, VALID_ROWS);
      assert.equal(summary.invalid, 0);
      const messages = await readTopic(testConnection, env.CHURNCTL_INPUT_TOPIC);
      assert.equal(messages.length, VALID_ROWS);
      assert.deepEqual(messages.map((m) => m.key).sort(), (await dataKeys()).sort());
      const first = messages[0];
      assert.equal(first.headers["schema-version"], "1");
      assert.equal(first.headers["producer-run-id"], summary.runId);
      const value = JSON.parse(decoder.decode(first.value!));
      assert.equal(value.customerID, first.key);
      assert.match(value.event_ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const checkpoint = JSON.parse(await Deno.readTextFile(`${dir}/full.json`));
      assert.equal(checkpoint.nextRow, VALID_ROWS + 1);
      assert.equal(checkpoint.state, "complete");
    });

    await t.step("produce batch killed with SIGKILL and rerun leaves every row, duplicates ≤ one batch", async () => {
      const env = await setupTopics("produce-kill");
      const checkpoint = `${dir}/kill.json`;
      const batchSize = 20;
      const args = [
        "produce",
        "--mode",
        "batch",
        "--input",
        DATA_FILE,
        "--batch-size",
        String(batchSize),
        "--checkpoint",
        checkpoint,
      ];
      const child = spawnCli(args, env);
      let killedAt = 0;
      for (let attempt = 0; attempt < 3000; attempt++) {
        const text = await Deno.readTextFile(checkpoint).catch(() => "");
        const nextRow = text ? JSON.parse(text).nextRow : 0;
        if (nextRow > 1000) {
          child.kill("SIGKILL");
          killedAt = nextRow;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const status = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      assert.ok(killedAt > 0 && killedAt <= VALID_ROWS, `never saw progress (killed at ${killedAt})`);
      assert.notEqual(status.code, 0, "the run finished before the kill: the test proves nothing");
      const rerun = await runCli([...args, "--json"], { env });
      assert.equal(rerun.code, 0, rerun.stderr);
      const summary = JSON.parse(rerun.stdout);
      assert.ok(summary.resumedFromRow > 1000);
      assert.equal(summary.possibleDuplicates, batchSize);
      const messages = await readTopic(testConnection, env.CHURNCTL_INPUT_TOPIC);
      const counts = new Map<string, number>();
      for (const message of messages) counts.set(message.key!, (counts.get(message.key!) ?? 0) + 1);
      for (const key of await dataKeys()) assert.ok(counts.has(key), `row ${key} missing`);
      const duplicates = messages.length - counts.size;
      assert.ok(duplicates <= batchSize, `${duplicates} duplicates for batch size ${batchSize}`);
    });

    await t.step("produce batch refuses the checkpoint of another file", async () => {
      const env = await setupTopics("produce-other");
      const other = `${dir}/other.csv`;
      await Deno.writeTextFile(other, (await Deno.readTextFile(DATA_FILE)).split("\n").slice(0, 11).join("\n") + "\n");
      const checkpoint = `${dir}/shared.json`;
      const first = await runCli(["produce", "--mode", "batch", "--input", other, "--checkpoint", checkpoint], { env });
      assert.equal(first.code, 0, first.stderr);
      const second = await runCli(["produce", "--mode", "batch", "--input", DATA_FILE, "--checkpoint", checkpoint], {
        env,
      });
      assert.equal(second.code, 1);
      assert.match(second.stderr, /^error: checkpoint .* belongs to another input .*--restart/m);
      assert.equal(second.stderr.trim().split("\n").length, 1);
      const restarted = await runCli(
        [
          "produce",
          "--mode",
          "batch",
          "--input",
          DATA_FILE,
          "--checkpoint",
          checkpoint,
          "--restart",
          "--max-events",
          "5",
          "--json",
        ],
        { env },
      );
      assert.equal(restarted.code, 0, restarted.stderr);
      assert.equal(JSON.parse(restarted.stdout).sent, 5);
    });

    await t.step("produce batch skips invalid rows by default and sends them with --send-invalid", async () => {
      const env = await setupTopics("produce-invalid");
      const good = (await Deno.readTextFile(DATA_FILE)).split("\n").slice(1, 4);
      const bad = [
        good[0].replace(/^[^,]+/, "BAD-1").replace(",Female,", ",F,"),
        "BAD-2,Male,0,No",
        good[1].replace(/^[^,]+/, "BAD-3").replace(/,(\d+),Yes,/, ",many,Yes,"),
      ];
      const path = `${dir}/bad.csv`;
      await Deno.writeTextFile(
        path,
        [CSV_COLUMNS.join(","), good[0], bad[0], good[1], bad[1], bad[2], good[2]].join("\n") + "\n",
      );
      const skipped = await runCli([
        "produce",
        "--mode",
        "batch",
        "--input",
        path,
        "--checkpoint",
        `${dir}/b1.json`,
        "--json",
      ], { env });
      assert.equal(skipped.code, 0, skipped.stderr);
      const summary = JSON.parse(skipped.stdout);
      assert.equal(summary.sent, 3);
      assert.equal(summary.invalid, 3);
      assert.deepEqual(summary.invalidRows.map((row: { row: number; reason: string }) => [row.row, row.reason]), [
        [2, "unknown_category"],
        [4, "missing_field"],
        [5, "wrong_type"],
      ]);
      assert.match(skipped.stderr, /invalid row 2 \(line 3\): unknown_category/);
      const sent = await runCli(
        ["produce", "--mode", "batch", "--input", path, "--checkpoint", `${dir}/b2.json`, "--send-invalid", "--json"],
        { env },
      );
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(JSON.parse(sent.stdout).sent, 6);
      const messages = await readTopic(testConnection, env.CHURNCTL_INPUT_TOPIC);
      const invalid = messages.filter((m) => m.key?.startsWith("BAD-"));
      assert.deepEqual(invalid.map((m) => m.key).sort(), ["BAD-1", "BAD-2", "BAD-3"]);
      for (const message of invalid) {
        const value = JSON.parse(decoder.decode(message.value!));
        assert.equal(validateCustomerEvent(value).ok, false);
        assert.ok(value.event_id);
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("produce --mode streaming", async (t) => {
  await t.step("produce streaming holds the rate for --duration and reports it", async () => {
    const env = await setupTopics("produce-stream");
    const result = await runCli(
      ["produce", "--input", DATA_FILE, "--events-per-sec", "200", "--duration", "3", "--json"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.stoppedBy, "duration");
    assert.ok(Math.abs(summary.sent - 600) <= 30, `sent ${summary.sent}`);
    const messages = await readTopic(testConnection, env.CHURNCTL_INPUT_TOPIC);
    assert.equal(messages.length, summary.sent);
  });
  await t.step("produce streaming stops on SIGTERM: flushes, prints the summary, exits 0", async () => {
    const env = await setupTopics("produce-sigterm");
    const child = spawnCli(["produce", "--synthetic", "--events-per-sec", "100", "--json"], env);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill("SIGTERM");
    const output = await child.output();
    assert.equal(output.code, 0, decoder.decode(output.stderr));
    const summary = JSON.parse(decoder.decode(output.stdout));
    assert.equal(summary.stoppedBy, "signal");
    assert.ok(summary.sent > 0);
    const messages = await readTopic(testConnection, env.CHURNCTL_INPUT_TOPIC);
    assert.equal(messages.length, summary.sent);
  });
});
