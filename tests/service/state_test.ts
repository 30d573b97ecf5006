import assert from "node:assert/strict";
import { ServiceState } from "../../src/service/state.ts";

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

Deno.test("ServiceState", async (t) => {
  await t.step("state is alive at start and while the loop ticks within the allowed silence", () => {
    const clock = fakeClock();
    const state = new ServiceState({ now: clock.now, maxSilenceMs: 1000 });
    assert.equal(state.liveness().alive, true);
    clock.advance(900);
    state.tick();
    clock.advance(900);
    assert.deepEqual(state.liveness(), { alive: true, sinceTickMs: 900, maxSilenceMs: 1000 });
  });

  await t.step("state is not alive once the loop is silent longer than allowed", () => {
    const clock = fakeClock();
    const state = new ServiceState({ now: clock.now, maxSilenceMs: 1000 });
    clock.advance(1001);
    assert.equal(state.liveness().alive, false);
    state.tick();
    assert.equal(state.liveness().alive, true);
  });

  await t.step("state is not ready at start and names every missing piece", () => {
    const readiness = new ServiceState().readiness();
    assert.equal(readiness.ready, false);
    assert.deepEqual(readiness.checks, { broker: false, partitions: false, model: false, running: true });
    assert.deepEqual(readiness.notReady, ["broker: not connected", "model: not loaded"]);
  });

  await t.step("state is ready when connected, a group member and the model is loaded", () => {
    const state = new ServiceState();
    state.markModelLoaded("v7");
    state.markConnected(true);
    assert.deepEqual(state.readiness().notReady, ["partitions: not yet a member of the consumer group"]);
    state.markAssigned(3);
    const readiness = state.readiness();
    assert.equal(readiness.ready, true);
    assert.equal(readiness.assigned, 3);
    assert.equal(readiness.model, "v7");
  });

  await t.step("state stays ready through a clean rebalance and as an idle member with 0 partitions", () => {
    const state = new ServiceState();
    state.markModelLoaded();
    state.markConnected(true);
    state.markRebalancing();
    assert.equal(state.readiness().ready, true);
    assert.equal(state.assignment, "rebalancing");
    state.markAssigned(0);
    assert.equal(state.readiness().ready, true);
    assert.equal(state.readiness().assigned, 0);
  });

  await t.step("state is not ready after losing the broker, and says why", () => {
    const state = new ServiceState();
    state.markModelLoaded();
    state.markConnected(true);
    state.markAssigned(2);
    state.markConnected(false, "connection refused at 127.0.0.1:1");
    const readiness = state.readiness();
    assert.equal(readiness.ready, false);
    assert.deepEqual(readiness.notReady, ["broker: connection refused at 127.0.0.1:1"]);
    // Reconnecting alone is not enough: the group must be rejoined.
    state.markConnected(true);
    assert.equal(state.readiness().ready, false);
  });

  await t.step("state is not ready while shutting down", () => {
    const state = new ServiceState();
    state.markModelLoaded();
    state.markConnected(true);
    state.markAssigned(1);
    state.markStopping();
    assert.equal(state.readiness().ready, false);
    assert.deepEqual(state.readiness().notReady, ["running: shutting down"]);
  });
});
