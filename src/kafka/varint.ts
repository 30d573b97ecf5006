/**
 * kafkajs 2.2.4 writes every varint of every record (lengths, deltas, each
 * header's key and value length: 13 per prediction) through a temporary
 * array and `Buffer.from(array)`. Under Deno's Node compatibility layer that
 * allocation was the largest single cost of `consume` in a CPU profile
 * (~10 % of the time, plus the garbage it leaves). This replaces that one
 * method with the same LEB128 encoding written straight into the encoder's
 * buffer. Imported for its effect, like `quiet.ts`; it changes no bytes on
 * the wire (tests/kafka/varint_test.ts compares both encoders).
 *
 * @module
 */
import Encoder from "kafkajs/src/protocol/encoder.js";

interface EncoderLike {
  buf: Uint8Array;
  offset: number;
  ensureAvailable(length: number): void;
}

/** The original kafkajs method, kept for the equivalence test. */
export const originalWriteUVarInt: (this: EncoderLike, value: number) => EncoderLike = Encoder.prototype.writeUVarInt;

/** LEB128 of an unsigned 32-bit value, written in place (at most 5 bytes). */
export function writeUVarIntInPlace(this: EncoderLike, value: number): EncoderLike {
  this.ensureAvailable(5);
  const buffer = this.buf;
  let offset = this.offset;
  while ((value & 0xffffff80) !== 0) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buffer[offset++] = value & 0x7f;
  this.offset = offset;
  return this;
}

Encoder.prototype.writeUVarInt = writeUVarIntInPlace;
