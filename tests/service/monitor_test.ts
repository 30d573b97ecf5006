import assert from "node:assert/strict";
import { ConsumerMonitor, type LagReading } from "../../src/service/monitor.ts";
import { parseExposition, valueOf } from "./exposition.ts";

function monitorWith(readings: (LagReading | Error)[], assigned: number[] = [0, 1]) {
  const queue = [...readings];
  return new ConsumerMonitor({
    topic: "raw",
    version: "9.9.9",
    readLag: () => {
      const next = queue.shift() ?? readings[readings.length - 1];
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    assigned: () => assigned,
    intervalMs: 60000,
  });
}

Deno.test("ConsumerMonitor", async (t) => {
  await t.step("monitor is ready once the model is loaded, the consumer connected and the group stable", async () => {
    const monitor = monitorWith([{
      state: "Stable",
      partitions: [{ partition: 0, lag: 3 }, { partition: 1, lag: 0 }],
    }]);
    try {
      assert.equal(monitor.state.readiness().ready, false);
      monitor.markModelLoaded("v1");
      monitor.markConnected();
      await monitor.poll();
      assert.equal(monitor.state.readiness().ready, true);
      assert.deepEqual(monitor.lagByPartition(), { 0: 3, 1: 0 });
      const families = parseExposition(await monitor.metrics.render());
      assert.equal(valueOf(families, "churnctl_consumer_lag_messages", { topic: "raw", partition: "0" }), 3);
      assert.equal(valueOf(families, "churnctl_assigned_partitions"), 2);
      assert.equal(valueOf(families, "churnctl_model_info", { version: "v1" }), 1);
    } finally {
      await monitor.close();
    }
  });

  await t.step("monitor turns not ready when the broker stops answering, and ready again after", async () => {
    const monitor = monitorWith([
      { state: "Stable", partitions: [] },
      new Error("connection refused"),
      { state: "Stable", partitions: [] },
    ]);
    try {
      monitor.markModelLoaded("v1");
      monitor.markConnected();
      await monitor.poll();
      assert.equal(monitor.state.readiness().ready, true);
      await monitor.poll();
      assert.deepEqual(monitor.state.readiness().notReady, ["broker: connection refused"]);
      const families = parseExposition(await monitor.metrics.render());
      assert.equal(valueOf(families, "churnctl_errors_total", { kind: "broker" }), 1);
      await monitor.poll();
      assert.equal(monitor.state.readiness().ready, true);
    } finally {
      await monitor.close();
    }
  });

  await t.step("monitor stays ready through a rebalance and is not ready when the group has no members", async () => {
    const monitor = monitorWith([{ state: "PreparingRebalance", partitions: [] }, { state: "Empty", partitions: [] }]);
    try {
      monitor.markModelLoaded("v1");
      monitor.markConnected();
      await monitor.poll();
      assert.equal(monitor.state.assignment, "rebalancing");
      assert.equal(monitor.state.readiness().ready, true);
      await monitor.poll();
      assert.equal(monitor.state.readiness().ready, false);
    } finally {
      await monitor.close();
    }
  });

  await t.step("monitor counts committed batches and renews liveness", async () => {
    const monitor = monitorWith([{ state: "Stable", partitions: [] }]);
    monitor.observeBatch({
      topic: "raw",
      partition: 0,
      firstOffset: "0",
      lastOffset: "1",
      size: 2,
      predicted: 2,
      churned: 0,
      probabilities: new Float64Array([0.1, 0.2]),
      deadLetters: new Map(),
      inferenceMs: 1,
      processMs: 2,
      timestamps: new Float64Array([Date.now() - 10, Date.now() - 5]),
    }, { fetchedAt: Date.now(), completedAt: Date.now() });
    assert.equal(valueOf(parseExposition(await monitor.metrics.render()), "churnctl_predictions_total"), 2);
    assert.equal(monitor.state.liveness().alive, true);
    await monitor.close();
  });

  await t.step("monitor polls on its own after markConnected and stops at close", async () => {
    let calls = 0;
    const monitor = new ConsumerMonitor({
      topic: "raw",
      version: "9.9.9",
      readLag: () => {
        calls++;
        return Promise.resolve({ state: "Stable", partitions: [] });
      },
      assigned: () => [0],
      intervalMs: 10,
    });
    monitor.markConnected();
    await new Promise((resolve) => setTimeout(resolve, 80));
    await monitor.close();
    const after = calls;
    assert.ok(after >= 3, `${after} polls`);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(calls, after);
  });
});
