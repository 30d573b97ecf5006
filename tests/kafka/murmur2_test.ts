import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { murmur2, MURMUR2_PATCHED, originalMurmur2 } from "../../src/kafka/murmur2.ts";

Deno.test("murmur2", async (t) => {
  await t.step("murmur2 gives kafkajs's hash for string, Unicode, Buffer and other keys", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.fullUnicodeString({ maxLength: 30 }),
          fc.unicodeString({ maxLength: 30 }),
          fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
          fc.integer(),
        ),
        (key) => assert.equal(murmur2(key), originalMurmur2(key), String(key)),
      ),
      { numRuns: 2000 },
    );
  });

  await t.step("murmur2 matches Kafka's Java partitioner on known keys", () => {
    // Kafka's DefaultPartitioner: toPositive(murmur2(utf8(key))) % partitions; values from kafkajs's own tests.
    assert.equal(murmur2("21"), -973932308);
    assert.equal(murmur2("foobar"), -790332482);
    assert.equal(murmur2(""), 275646681);
  });

  await t.step("murmur2 is what kafkajs's default partitioner uses when loaded through src/kafka", () => {
    assert.equal(MURMUR2_PATCHED, true);
  });
});
