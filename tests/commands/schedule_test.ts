import assert from "node:assert/strict";
import { readRuns } from "../../src/schedule/history.ts";
import { runCli, spawnCli, topicEnv, uniqueTopics } from "../support.ts";

Deno.test("schedule command", async (t) => {
  await t.step("schedule command refuses a bad cron in one line, exit 2", async () => {
    const flag = await runCli(["schedule", "--batch-cron", "nope"]);
    assert.equal(flag.code, 2);
    assert.equal(
      flag.stderr,
      "error: --batch-cron: cron 'nope': expected 5 fields (minute hour day-of-month month day-of-week, UTC), got 1\n",
    );
    const env = await runCli(["schedule", "--once", "watchdog"], { env: { CHURNCTL_WATCHDOG_CRON: "61 * * * *" } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /^error: --watchdog-cron: cron '61 \* \* \* \*': minute 61 is out of range 0-59\n$/);
  });

  await t.step("schedule command --once batch-pipeline runs the batch DAG and records it", async () => {
    const topics = uniqueTopics("sched");
    const dir = await Deno.makeTempDir();
    const env = { ...topicEnv(topics), CHURNCTL_STATE_DIR: `${dir}/state`, CHURNCTL_REPORTS_DIR: `${dir}/reports` };
    assert.equal((await runCli(["setup"], { env })).code, 0);
    const result = await runCli(
      ["schedule", "--once", "batch-pipeline", "--batch-synthetic", "--batch-events", "300", "--batch-idle-ms", "2000"],
      { env },
    );
    assert.equal(result.code, 0, result.stderr);
    const [record] = await readRuns(`${dir}/state`);
    assert.equal(record.job, "batch-pipeline");
    assert.equal(record.trigger, "once");
    assert.equal(record.status, "ok", record.error ?? "");
    assert.deepEqual(record.counts, { produced: 300, consumed: 300, predictions: 300, dead_letters: 0 });
    assert.match(record.report!, /batch-\d{4}-\d{2}-\d{2}T\d{6}Z\.html$/);
    const html = await Deno.readTextFile(record.report!);
    assert.match(html, /<svg id="chart-histogram"/);
    const summary = JSON.parse(await Deno.readTextFile(record.report!.replace(/\.html$/, ".json")));
    assert.equal(summary.predictions, 300);
    assert.equal(summary.top.length, 10, "the run's own predictions were read back");
    assert.ok((await Deno.stat(record.report!.replace(/\.html$/, "-consume.json"))).isFile);
    await Deno.remove(dir, { recursive: true });
  });

  await t.step("schedule command registers its crons and stops cleanly on SIGTERM", async () => {
    const topics = uniqueTopics("sched");
    const dir = await Deno.makeTempDir();
    const child = spawnCli([
      "schedule",
      "--batch-synthetic",
      "--batch-cron",
      "0 0 1 1 *",
      "--watchdog-cron",
      "0 0 1 1 *",
    ], {
      ...topicEnv(topics),
      CHURNCTL_STATE_DIR: `${dir}/state`,
    });
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!stderr.includes("scheduler started")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    assert.match(stderr, /scheduler started batch_cron=0 0 1 1 \* batch_next=\d{4}-01-01T00:00:00.000Z/);
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15000);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    const status = await child.status;
    clearTimeout(timer);
    await child.stdout.cancel();
    assert.equal(status.code, 0, stderr);
    assert.match(stderr, /scheduler stopped/);
    await Deno.remove(dir, { recursive: true });
  });
  await t.step("schedule command --supervise restarts a killed consumer and serves its endpoint", async () => {
    const topics = uniqueTopics("supervise");
    const dir = await Deno.makeTempDir();
    assert.equal((await runCli(["setup"], { env: topicEnv(topics) })).code, 0);
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const child = spawnCli([
      "schedule",
      "--supervise",
      "--metrics-addr",
      `127.0.0.1:${port}`,
      "--batch-synthetic",
      "--batch-cron",
      "0 0 1 1 *",
      "--watchdog-cron",
      "0 0 1 1 *",
    ], { ...topicEnv(topics), CHURNCTL_STATE_DIR: `${dir}/state`, CHURNCTL_SESSION_TIMEOUT_MS: "6000" });
    let stderr = "";
    const reading = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
    })();
    const waitFor = async (what: string, check: () => boolean | Promise<boolean>, ms = 40000) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const ready = async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/ready`);
        await response.body?.cancel();
        return response.status === 200;
      } catch {
        return false;
      }
    };
    try {
      await waitFor("the first consumer to be ready", ready);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^churnctl_build_info\{/m);
      const first = Number(stderr.match(/streaming consumer: started pid=(\d+)/)?.[1]);
      assert.ok(first > 0, stderr);
      Deno.kill(first, "SIGKILL");
      await waitFor("a restart", () => /streaming consumer: started pid=\d+ starts=2/.test(stderr));
      assert.match(stderr, new RegExp(`streaming consumer: exited with code 137; restarting .* pid=${first}`));
      await waitFor("the restarted consumer to be ready", ready);
    } finally {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30000);
      const status = await child.status;
      clearTimeout(timer);
      await reading;
      await child.stdout.cancel();
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0, stderr);
    }
    assert.match(stderr, /streaming consumer: stopped with code 0/);
  });
});
