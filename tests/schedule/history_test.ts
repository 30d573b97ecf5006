import assert from "node:assert/strict";
import { appendRun, historyPath, readRuns, type RunRecord } from "../../src/schedule/history.ts";

function record(job: string, status: RunRecord["status"]): RunRecord {
  const now = new Date().toISOString();
  return {
    job,
    run_id: crypto.randomUUID(),
    trigger: "once",
    start: now,
    end: now,
    duration_ms: 0,
    status,
    counts: {},
    report: null,
    error: null,
  };
}

Deno.test("history", async (t) => {
  const dir = await Deno.makeTempDir();
  const stateDir = `${dir}/state`;

  await t.step("history of a missing file is empty", async () => {
    assert.deepEqual(await readRuns(stateDir), []);
  });

  await t.step("history appends JSON lines in a 0600 file", async () => {
    await appendRun(stateDir, record("batch-pipeline", "ok"));
    await appendRun(stateDir, record("watchdog", "failed"));
    await appendRun(stateDir, record("watchdog", "skipped"));
    const lines = (await Deno.readTextFile(historyPath(stateDir))).trim().split("\n");
    assert.equal(lines.length, 3);
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(historyPath(stateDir))).mode! & 0o777, 0o600);
  });

  await t.step("history filters by job and keeps the last N", async () => {
    assert.deepEqual((await readRuns(stateDir, { job: "watchdog" })).map((run) => run.status), ["failed", "skipped"]);
    assert.deepEqual((await readRuns(stateDir, { limit: 1 })).map((run) => run.status), ["skipped"]);
  });

  await t.step("history skips a torn last line", async () => {
    await Deno.writeTextFile(historyPath(stateDir), '{"job":"wat', { append: true });
    assert.equal((await readRuns(stateDir)).length, 3);
  });

  await t.step("history narrows a file that was made wider", async () => {
    if (Deno.build.os === "windows") return;
    await Deno.chmod(historyPath(stateDir), 0o644);
    await appendRun(stateDir, record("watchdog", "ok"));
    assert.equal((await Deno.stat(historyPath(stateDir))).mode! & 0o777, 0o600);
  });

  await Deno.remove(dir, { recursive: true });
});
