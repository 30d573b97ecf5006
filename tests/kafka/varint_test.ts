import assert from "node:assert/strict";
import Encoder from "kafkajs/src/protocol/encoder.js";
import { originalWriteUVarInt, writeUVarIntInPlace } from "../../src/kafka/varint.ts";

Deno.test("writeUVarIntInPlace", async (t) => {
  await t.step("writeUVarIntInPlace writes the same bytes as kafkajs for every size class", () => {
    const values = [0, 1, 127, 128, 255, 300, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 31 - 1, 0xffffffff];
    for (let index = 0; index < 2000; index++) values.push(Math.floor(Math.random() * 0xffffffff));
    for (const value of values) {
      const ours = new Encoder(1);
      const theirs = new Encoder(1);
      writeUVarIntInPlace.call(ours, value);
      originalWriteUVarInt.call(theirs, value);
      assert.deepEqual(ours.buffer, theirs.buffer, `value ${value}`);
    }
  });

  await t.step("writeUVarIntInPlace is what kafkajs's encoder now uses, and grows the buffer when full", () => {
    const encoder = new Encoder(1);
    assert.equal(encoder.writeUVarInt, writeUVarIntInPlace);
    for (let index = 0; index < 1000; index++) encoder.writeVarInt(-index);
    const reference = new Encoder(1);
    for (let index = 0; index < 1000; index++) originalWriteUVarInt.call(reference, Encoder.encodeZigZag(-index));
    assert.deepEqual(encoder.buffer, reference.buffer);
  });
});
