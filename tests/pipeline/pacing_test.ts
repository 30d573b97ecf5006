import assert from "node:assert/strict";
import { type Clock, Pacer } from "../../src/pipeline/pacing.ts";

/** A clock whose sleeps advance time instantly, with a fixed overshoot like a real timer's. */
function fakeClock(overshootMs = 0): Clock & { sleeps: number } {
  let time = 1000;
  const clock = {
    sleeps: 0,
    now: () => time,
    sleep: (ms: number, signal?: AbortSignal) => {
      clock.sleeps++;
      if (!signal?.aborted) time += Math.max(ms, 0) + overshootMs;
      return Promise.resolve();
    },
  };
  return clock;
}

/** Runs a pacer for `seconds` of fake time and returns the events it handed out. */
async function eventsIn(rate: number, seconds: number, clock: Clock): Promise<number> {
  const pacer = new Pacer(rate, { clock });
  const until = clock.now() + seconds * 1000;
  let events = 0;
  for (;;) {
    const due = await pacer.next(undefined, until);
    if (due === 0) return events;
    events += due;
  }
}

Deno.test("pacer", async (t) => {
  for (const rate of [1, 10, 100, 1000, 5000]) {
    await t.step(`pacer holds ${rate} events/s within 5 % over 10 s (timer overshoot 1.3 ms)`, async () => {
      const events = await eventsIn(rate, 10, fakeClock(1.3));
      const expected = rate * 10;
      assert.ok(Math.abs(events - expected) / expected <= 0.05, `${events} events, expected ${expected}`);
      assert.ok(Math.abs(events - expected) <= 1, `schedule drifts: ${events} vs ${expected}`);
    });
  }

  await t.step("pacer sends small groups at high rates instead of one timer per event", async () => {
    const clock = fakeClock(1);
    const pacer = new Pacer(5000, { clock });
    const groups: number[] = [];
    const until = clock.now() + 1000;
    for (let due = await pacer.next(undefined, until); due > 0; due = await pacer.next(undefined, until)) {
      groups.push(due);
    }
    assert.equal(groups.reduce((a, b) => a + b, 0), 5000);
    assert.ok(clock.sleeps < 1200, `${clock.sleeps} sleeps for 5000 events`);
    assert.ok(Math.max(...groups) <= 250, `a burst of ${Math.max(...groups)}`);
  });

  await t.step("pacer is steady at 1 event/s: one event per second, not bursts", async () => {
    const clock = fakeClock(0);
    const pacer = new Pacer(1, { clock });
    const times: number[] = [];
    for (let index = 0; index < 5; index++) {
      assert.equal(await pacer.next(), 1);
      times.push(clock.now());
    }
    assert.deepEqual(times.map((time) => time - times[0]), [0, 1000, 2000, 3000, 4000]);
  });

  await t.step("pacer forgives a backlog beyond maxLagMs instead of bursting", async () => {
    let time = 0;
    const clock: Clock = { now: () => time, sleep: (ms) => (time += ms, Promise.resolve()) };
    const pacer = new Pacer(100, { clock, maxLagMs: 200, maxGroup: 1000 });
    assert.equal(await pacer.next(), 1);
    time += 5000; // the caller stalled for 5 s
    const burst = await pacer.next();
    assert.ok(burst <= 20, `burst of ${burst}`);
    assert.ok(pacer.forgiven >= 470, `forgave ${pacer.forgiven}`);
  });

  await t.step("pacer returns 0 when aborted while waiting", async () => {
    const controller = new AbortController();
    const clock: Clock = {
      now: () => 0,
      sleep: () => (controller.abort(), Promise.resolve()),
    };
    const pacer = new Pacer(1, { clock });
    assert.equal(await pacer.next(controller.signal), 1);
    assert.equal(await pacer.next(controller.signal), 0);
  });

  await t.step("pacer rejects a rate that is not positive", () => {
    assert.throws(() => new Pacer(0), RangeError);
    assert.throws(() => new Pacer(Number.NaN), RangeError);
  });

  await t.step("pacer on the real clock holds 2,000 events/s within 5 % over 1 s", async () => {
    const pacer = new Pacer(2000);
    const started = performance.now();
    const until = started + 1000;
    let events = 0;
    for (let due = await pacer.next(undefined, until); due > 0; due = await pacer.next(undefined, until)) events += due;
    assert.ok(Math.abs(events - 2000) <= 100, `${events} events in 1 s`);
  });
});
