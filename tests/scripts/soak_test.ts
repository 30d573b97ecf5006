/**
 * The CI soak: `scripts/soak.ts` with small flags (20,000 events, 3 consumer
 * kills, 1 broker restart, 2 producer kills) on its own broker (port 39292,
 * a temp state dir; the shared 19092 broker is never touched), asserting
 * missing = 0; plus the accounting that decides it, on plain values.
 *
 * @module
 */
import assert from "node:assert/strict";
import { account } from "../../scripts/soak/accounting.ts";
import type { ReadMessage } from "../../src/kafka/reader.ts";
import { ROOT } from "../support.ts";

const encoder = new TextEncoder();

function input(partition: number, offset: number, eventId?: string): ReadMessage {
  const value = eventId === undefined ? null : encoder.encode(JSON.stringify({ event_id: eventId }));
  return { topic: "in", partition, offset, timestamp: 0, key: "k", value, headers: {} };
}
function prediction(partition: number, offset: number, eventId: string): ReadMessage {
  return {
    topic: "p",
    partition: 0,
    offset: 0,
    timestamp: 0,
    key: "k",
    value: encoder.encode(JSON.stringify({ event_id: eventId })),
    headers: { "source-partition": String(partition), "source-offset": String(offset) },
  };
}
function deadLetter(source: ReadMessage, reason: string): ReadMessage {
  return {
    ...source,
    topic: "d",
    headers: {
      "dlq-reason": reason,
      "dlq-source-partition": String(source.partition),
      "dlq-source-offset": String(source.offset),
    },
  };
}

Deno.test("soak accounting", async (t) => {
  const inputs = [input(0, 0, "a"), input(0, 1, "b"), input(1, 0), input(1, 1, "d")];
  await t.step("soak accounting counts an input with no output as missing", () => {
    const totals = account(inputs, [prediction(0, 0, "a"), prediction(0, 1, "b")], [
      deadLetter(inputs[2], "tombstone"),
    ]);
    assert.equal(totals.missing, 1);
    assert.deepEqual(totals.missing_examples, ["1:1 d"]);
  });
  await t.step("soak accounting counts repeated outputs as duplicates, not missing", () => {
    const totals = account(
      inputs,
      [prediction(0, 0, "a"), prediction(0, 0, "a"), prediction(0, 1, "b"), prediction(1, 1, "d")],
      [deadLetter(inputs[2], "tombstone"), deadLetter(inputs[2], "tombstone")],
    );
    assert.equal(totals.missing, 0);
    assert.equal(totals.duplicates, 2);
    assert.deepEqual(totals.dead_letters, { tombstone: 1 });
    assert.equal(totals.predicted, 3);
  });
  await t.step("soak accounting flags orphans, event id mismatches and altered dead letters", () => {
    const altered = { ...deadLetter(inputs[2], "tombstone"), value: encoder.encode("x") };
    const totals = account(inputs, [prediction(0, 0, "zzz"), prediction(5, 5, "q")], [altered]);
    assert.equal(totals.orphans, 1);
    assert.equal(totals.event_id_mismatches, 1);
    assert.equal(totals.altered_dead_letters, 1);
  });
});

Deno.test("soak script", async (t) => {
  const stateDir = await Deno.makeTempDir({ prefix: "churnctl-soak-ci-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-run",
        "--allow-sys",
        `${ROOT}scripts/soak.ts`,
        "--events",
        "20000",
        "--kills",
        "3",
        "--broker-restarts",
        "1",
        "--producer-kills",
        "2",
        "--rate",
        "1000",
        "--port",
        "39292",
        "--state-dir",
        stateDir,
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    const reportPath = stdout.match(/^\s*report\s+(\S+)$/m)?.[1];
    await t.step("soak script finishes with exit 0 and a report", () => {
      assert.equal(output.code, 0, `${stdout}\n${stderr.slice(-3000)}`);
      assert.ok(reportPath, stdout);
    });
    const report = JSON.parse(await Deno.readTextFile(reportPath!));
    await t.step("soak script loses nothing through kills and a broker restart", () => {
      assert.equal(report.missing, 0);
      assert.equal(report.events, 20000);
      assert.equal(report.kills, 3);
      assert.equal(report.broker_restarts, 1);
      assert.equal(report.drained, true);
      assert.equal(typeof report.max_recovery_s, "number");
      assert.equal(report.reason_mismatches, 0);
    });
    // Regression (issue 9 finding): a 12-second broker restart made produce and consume give up and exit 1.
    await t.step("soak script's producers and consumers ride out a broker restart without exiting", () => {
      assert.equal(report.producer_failures, 0, JSON.stringify(report.producer_runs));
      // A consumer (re)started while the broker is down may still fail at start-up: a supervisor restarts it.
      assert.equal(report.consumer_crashes_mid_run, 0, JSON.stringify(report.consumer_crash_logs));
    });
    await t.step("soak script's producer crash-resume keeps every row", () => {
      if (report.producer_crash_resume === null) return; // no data file: skipped, as the soak says
      assert.equal(report.producer_crash_resume.missing_rows, 0);
      assert.ok(report.producer_crash_resume.ok);
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
});
