import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";
import { readRuns } from "../../src/schedule/history.ts";
import { JobRunner } from "../../src/schedule/runner.ts";

Deno.test("runner", async (t) => {
  const stateDir = await Deno.makeTempDir();
  const lines: string[] = [];
  const log = createLogger({ write: (line) => lines.push(line) });
  const runner = new JobRunner({ stateDir, log });
  const signal = new AbortController().signal;

  await t.step("runner skips a run while the previous one of the same job is going", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const first = runner.run("batch-pipeline", async () => {
      await gate;
      return { status: "ok", counts: { produced: 3 } };
    }, signal);
    assert.equal(runner.isRunning("batch-pipeline"), true);
    const second = await runner.run("batch-pipeline", () => Promise.resolve({ status: "ok" }), signal);
    assert.equal(second.status, "skipped");
    assert.ok(lines.some((line) => line.includes("batch-pipeline: previous run still in progress; skipping")));
    // Another job is not blocked by it.
    assert.equal((await runner.run("watchdog", () => Promise.resolve({ status: "ok" }), signal)).status, "ok");
    release();
    assert.equal((await first).status, "ok");
    assert.equal(runner.isRunning("batch-pipeline"), false);
  });

  await t.step("runner records a throwing body as failed with one line", async () => {
    const record = await runner.run("watchdog", () => Promise.reject(new Error("boom\nsecond line")), signal, "once");
    assert.equal(record.status, "failed");
    assert.equal(record.error, "boom second line");
  });

  await t.step("runner appends every run to the history", async () => {
    assert.deepEqual((await readRuns(stateDir)).map((run) => `${run.job}:${run.status}`), [
      "batch-pipeline:skipped",
      "watchdog:ok",
      "batch-pipeline:ok",
      "watchdog:failed",
    ]);
    assert.deepEqual((await readRuns(stateDir, { job: "batch-pipeline" })).at(-1)?.counts, { produced: 3 });
  });

  await Deno.remove(stateDir, { recursive: true });
});
