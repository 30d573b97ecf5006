import assert from "node:assert/strict";
import { SendQueue } from "../../src/pipeline/send_queue.ts";

Deno.test("SendQueue", async (t) => {
  await t.step("SendQueue batches what accumulates while a send is in flight", async () => {
    const batches: number[][] = [];
    const queue = new SendQueue<number>(async (items) => {
      batches.push(items);
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
    queue.push([1]);
    queue.push([2]);
    queue.push([3]);
    await queue.drain();
    assert.deepEqual(batches, [[1], [2, 3]]);
    assert.equal(queue.sent, 3);
  });
  await t.step("SendQueue counts a failed send instead of dropping it silently", async () => {
    const errors: number[] = [];
    const queue = new SendQueue<number>(() => Promise.reject(new Error("down")), {
      onError: (_, count) => errors.push(count),
    });
    queue.push([1, 2]);
    await queue.drain();
    assert.equal(queue.failed, 2);
    assert.equal(queue.sent, 0);
    assert.deepEqual(errors, [2]);
  });
  await t.step("SendQueue holds back the producer of items above maxPending", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const queue = new SendQueue<number>(() => gate, { maxPending: 2, maxBatch: 1 });
    queue.push([1, 2, 3, 4]);
    let ready = false;
    const waiting = queue.ready().then(() => ready = true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(ready, false);
    release();
    await waiting;
    await queue.drain();
    assert.equal(queue.sent, 4);
  });
});

Deno.test("SendQueue failFast", async (t) => {
  await t.step(
    "SendQueue with failFast counts the pending and later items as failed without sending them",
    async () => {
      let sends = 0;
      const queue = new SendQueue<number>(() => (sends++, Promise.reject(new Error("gone"))), {
        failFast: true,
        maxBatch: 1,
      });
      queue.push([1, 2, 3]);
      await queue.drain();
      queue.push([4]);
      await queue.drain();
      assert.equal(sends, 1);
      assert.equal(queue.failed, 4);
    },
  );
});
