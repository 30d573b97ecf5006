import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import Encoder from "kafkajs/src/protocol/encoder.js";
import {
  encodeRecord,
  originalRecord,
  originalWriteEncoderArray,
  PendingRecord,
  RECORD_PATCHED,
  type RecordInput,
} from "../../src/kafka/record_encoder.ts";

const bytes = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.fullUnicodeString({ maxLength: 20 }),
  // Long enough for the native path (message values), lone surrogates included.
  fc.string({ minLength: 40, maxLength: 300 }),
  fc.unicodeString({ minLength: 40, maxLength: 120 }),
  fc.fullUnicodeString({ minLength: 45, maxLength: 80 }),
  fc.uint8Array({ maxLength: 40 }).map((array) => Buffer.from(array)),
);
const input: fc.Arbitrary<RecordInput> = fc.record({
  offsetDelta: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  timestampDelta: fc.oneof(fc.integer({ min: -1000, max: 100000 }), fc.integer({ min: -(2 ** 50), max: 2 ** 50 })),
  key: fc.option(bytes, { nil: null }),
  value: fc.option(bytes, { nil: null }),
  headers: fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(bytes, fc.array(bytes, { maxLength: 3 }))),
}, { requiredKeys: ["offsetDelta", "timestampDelta", "key", "value"] });

/** Bytes of records the way kafkajs's record batch writes them (`writeEncoderArray` into one encoder). */
function batchBytes(records: unknown[], write: typeof originalWriteEncoderArray): Buffer {
  const encoder = new Encoder();
  write.call(encoder, records);
  return encoder.buffer;
}

Deno.test("encodeRecord", async (t) => {
  await t.step("encodeRecord writes the same bytes as kafkajs's record encoder", () => {
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 20 }), (inputs) => {
        const expected = batchBytes(inputs.map(originalRecord), originalWriteEncoderArray);
        const pending = inputs.map(encodeRecord);
        assert.ok(pending.every((record) => record instanceof PendingRecord));
        assert.deepEqual(batchBytes(pending, Encoder.prototype.writeEncoderArray), expected);
        // On its own too (`buffer`), and with the size kafkajs's encoder would report.
        for (let index = 0; index < inputs.length; index++) {
          assert.deepEqual(pending[index].buffer, originalRecord(inputs[index]).buffer);
          assert.equal(pending[index].size(), originalRecord(inputs[index]).size());
        }
      }),
      { numRuns: 300 },
    );
  });

  await t.step("encodeRecord leaves unusual shapes to kafkajs's own code", () => {
    const odd: RecordInput[] = [
      { key: "k", value: "v", headers: { h: null } },
      { key: "k", value: new Uint8Array([1, 2]) },
      { key: 42, value: "v" },
      { key: "k", value: "v", timestampDelta: 2 ** 53 },
      { key: "k", value: "v", timestampDelta: 0.5 },
    ];
    for (const record of odd) {
      // kafkajs's own code throws on some of these (a null header value): the same error reaches the caller.
      let expected: unknown, actual: unknown;
      try {
        expected = originalRecord(record).buffer;
      } catch (error) {
        expected = (error as Error).message;
      }
      try {
        const encoded = encodeRecord(record);
        assert.ok(!(encoded instanceof PendingRecord), JSON.stringify(record));
        actual = encoded.buffer;
      } catch (error) {
        actual = (error as Error).message;
      }
      assert.deepEqual(actual, expected);
    }
  });

  await t.step("encodeRecord mixes with plain encoders in one array and keeps kafkajs's type check", () => {
    const plain = new Encoder().writeInt32(7);
    const mixed = [encodeRecord({ key: "a", value: "b" }), plain, encodeRecord({ key: null, value: "c" })];
    const expected = [originalRecord({ key: "a", value: "b" }), plain, originalRecord({ key: null, value: "c" })];
    assert.deepEqual(
      batchBytes(mixed, Encoder.prototype.writeEncoderArray),
      batchBytes(expected, originalWriteEncoderArray),
    );
    assert.throws(() => new Encoder().writeEncoderArray([{}]), /instance of Encoder/);
  });

  await t.step("encodeRecord is what kafkajs's produce request uses when loaded through src/kafka", () => {
    assert.equal(RECORD_PATCHED, true);
  });
});
