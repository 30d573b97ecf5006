/**
 * kafkajs 2.2.4's default partitioner hashes every key with a murmur2 written
 * in 64-bit `Long` objects (a dozen allocations per key) after copying the key
 * into a new Buffer: ~3 % of `consume` and `produce` in CPU profiles. Only
 * the low 32 bits of that arithmetic reach the result, so this is the same
 * hash (Kafka's Java `Utils.murmur2`) in 32-bit integer math, reading ASCII
 * string keys without a copy. Same partition for every key
 * (tests/kafka/murmur2_test.ts compares both). Swapped into kafkajs's module
 * cache like grouping.ts, so it must load before kafkajs (`MURMUR2_PATCHED`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 of a key (a Buffer, or anything else as the UTF-8 of `String(key)`), as a signed 32-bit value. */
export function murmur2(key: unknown): number {
  if (Buffer.isBuffer(key)) return murmur2Bytes(key, key.length);
  const text = String(key);
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) >= 0x80) {
      const bytes = Buffer.from(text);
      return murmur2Bytes(bytes, bytes.length);
    }
  }
  return murmur2Ascii(text);
}

function murmur2Bytes(data: Uint8Array, length: number): number {
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  switch (length & 3) {
    case 3:
      h ^= data[tail + 2] << 16;
    // falls through
    case 2:
      h ^= data[tail + 1] << 8;
    // falls through
    case 1:
      h ^= data[tail];
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The same over an ASCII string's character codes (its UTF-8 bytes), without copying it into a Buffer. */
function murmur2Ascii(text: string): number {
  const length = text.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = text.charCodeAt(i4) | (text.charCodeAt(i4 + 1) << 8) | (text.charCodeAt(i4 + 2) << 16) |
      (text.charCodeAt(i4 + 3) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  switch (length & 3) {
    case 3:
      h ^= text.charCodeAt(tail + 2) << 16;
    // falls through
    case 2:
      h ^= text.charCodeAt(tail + 1) << 8;
    // falls through
    case 1:
      h ^= text.charCodeAt(tail);
      h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const require = createRequire(import.meta.url);
const murmurPath = require.resolve("kafkajs/src/producer/partitioners/default/murmur2.js");
const partitionerPath = require.resolve("kafkajs/src/producer/partitioners/default/index.js");

/** kafkajs's own murmur2, kept for the equivalence test. */
export const originalMurmur2: (key: unknown) => number = require(murmurPath);

/** True when kafkajs's default partitioner will use {@link murmur2} (it was not loaded before this module). */
export const MURMUR2_PATCHED: boolean = !(partitionerPath in require.cache);

require.cache[murmurPath]!.exports = murmur2;
