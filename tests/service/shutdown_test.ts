import assert from "node:assert/strict";
import { drainWithin, ShutdownSignal } from "../../src/service/shutdown.ts";

Deno.test("shutdown", async (t) => {
  await t.step("ShutdownSignal aborts at the first request and is forced at the second", async () => {
    const seen: string[] = [];
    const shutdown = new ShutdownSignal([], (signal, count) => seen.push(`${signal}#${count}`));
    try {
      assert.equal(shutdown.requested, false);
      assert.equal(shutdown.reason, undefined);
      shutdown.trigger("SIGTERM");
      assert.equal(shutdown.requested, true);
      assert.equal(shutdown.signal.aborted, true);
      assert.equal(shutdown.reason, "SIGTERM");
      let forced = false;
      shutdown.forced.then(() => forced = true);
      await Promise.resolve();
      assert.equal(forced, false);
      shutdown.trigger("SIGINT");
      await shutdown.forced;
      assert.equal(shutdown.reason, "SIGTERM");
      assert.deepEqual(seen, ["SIGTERM#1", "SIGINT#2"]);
    } finally {
      shutdown.dispose();
    }
  });

  await t.step("ShutdownSignal turns a real SIGTERM sent to this process into an abort", async () => {
    if (Deno.build.os === "windows") return;
    const shutdown = new ShutdownSignal(["SIGTERM"]);
    try {
      const aborted = new Promise((resolve) => shutdown.signal.addEventListener("abort", resolve));
      // A signal listener does not keep the event loop alive; this timer does, until the signal arrives.
      const guard = setTimeout(() => {}, 5000);
      Deno.kill(Deno.pid, "SIGTERM");
      await aborted;
      clearTimeout(guard);
      assert.equal(shutdown.reason, "SIGTERM");
    } finally {
      shutdown.dispose();
    }
  });

  await t.step("drainWithin returns the work's value when it finishes in time", async () => {
    const result = await drainWithin(new Promise((resolve) => setTimeout(() => resolve("done"), 10)), 1000);
    assert.equal(result.finished, true);
    assert.equal(result.finished && result.value, "done");
  });

  await t.step("drainWithin gives up at the timeout", async () => {
    let release!: () => void;
    const work = new Promise<void>((resolve) => release = resolve);
    const started = performance.now();
    const result = await drainWithin(work, 50);
    const elapsed = performance.now() - started;
    release();
    assert.deepEqual({ finished: result.finished, why: !result.finished && result.why }, {
      finished: false,
      why: "timeout",
    });
    assert.ok(elapsed >= 45 && elapsed < 1000, `waited ${elapsed} ms`);
  });

  await t.step("drainWithin stops waiting when forced", async () => {
    const forced = Promise.withResolvers<void>();
    const pending = drainWithin(new Promise(() => {}), 10000, forced.promise);
    forced.resolve();
    const result = await pending;
    assert.equal(result.finished, false);
    assert.equal(!result.finished && result.why, "forced");
  });
});
