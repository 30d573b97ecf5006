/**
 * kafkajs 2.2.4 encodes every produced record into its own `new Encoder()`
 * — a zero-filled 512-byte Buffer — plus one more per header (three per
 * prediction) and a `Buffer.from(array)` for the timestamp varlong, then
 * copies all of them into the batch. In a CPU profile of `consume` those
 * allocations and the garbage they leave were ~10 % of the time.
 *
 * This replaces kafkajs's record module with one that returns a
 * {@link PendingRecord}: the message's fields and precomputed lengths, written
 * straight into the batch's encoder when kafkajs copies its records
 * (`writeEncoderArray`, patched here to know pending records). The bytes on
 * the wire are the same (tests/kafka/record_encoder_test.ts compares both
 * encoders). Messages outside the common shape (string or Buffer key, value
 * and header values; safe-integer deltas) still go through kafkajs's own code.
 *
 * Like grouping.ts, the module swap works only if kafkajs's produce request
 * module was not loaded yet; `RECORD_PATCHED` says whether it worked.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import Encoder from "kafkajs/src/protocol/encoder.js";

/** The part of kafkajs's Encoder used here. */
interface EncoderLike {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeBufferInternal(buffer: Buffer): void;
  readonly buffer: Buffer;
  size(): number;
}

/** What kafkajs's produce request passes to its record module. */
export interface RecordInput {
  /** Position of the record in its batch. */
  offsetDelta?: number;
  /** Timestamp minus the batch's first timestamp, in ms. */
  timestampDelta?: number;
  /** Message key. */
  key?: unknown;
  /** Message value. */
  value?: unknown;
  /** Message headers (a value may be an array: one header per item). */
  headers?: Record<string, unknown>;
}

const require = createRequire(import.meta.url);
const recordPath = require.resolve("kafkajs/src/protocol/recordBatch/record/v0/index.js");
const requestPath = require.resolve("kafkajs/src/protocol/requests/produce/v3/request.js");

/** kafkajs's own record encoder, kept for fallbacks and the equivalence test. */
export const originalRecord: (input: RecordInput) => EncoderLike = require(recordPath);

/** True when kafkajs's produce requests will use {@link encodeRecord} (their module was not loaded before this one). */
export const RECORD_PATCHED: boolean = !(requestPath in require.cache);

const EMPTY = Buffer.alloc(0);
// Beyond this a zigzag varlong no longer fits a double exactly; kafkajs's Long-based code handles those.
const MAX_VARLONG_MAGNITUDE = 2 ** 51;

/** A record's fields with their lengths, written into the batch encoder when kafkajs copies records. */
export class PendingRecord {
  /** kafkajs recognises an encoder by a Buffer `buf`; this one is never read. */
  readonly buf: Buffer = EMPTY;
  #timestampDelta: number;
  #offsetDelta: number;
  #key: string | Buffer | null;
  #keyLength: number;
  #value: string | Buffer | null;
  #valueLength: number;
  /** Flat (name, name length, value, value length) quadruples. */
  #headers: (string | Buffer | number)[];
  #bodySize: number;
  #size: number;

  constructor(
    timestampDelta: number,
    offsetDelta: number,
    key: string | Buffer | null,
    value: string | Buffer | null,
    headers: (string | Buffer | number)[],
  ) {
    this.#timestampDelta = timestampDelta;
    this.#offsetDelta = offsetDelta;
    this.#key = key;
    this.#keyLength = byteLength(key);
    this.#value = value;
    this.#valueLength = byteLength(value);
    this.#headers = headers;
    let body = 1 + sizeOfVarLong(timestampDelta) + sizeOfVarInt(offsetDelta) +
      sizeOfVarInt(this.#keyLength) + Math.max(0, this.#keyLength) +
      sizeOfVarInt(this.#valueLength) + Math.max(0, this.#valueLength) +
      sizeOfVarInt(headers.length / 4);
    for (let index = 0; index < headers.length; index += 4) {
      const nameLength = headers[index + 1] as number;
      const valueLength = headers[index + 3] as number;
      body += sizeOfVarInt(nameLength) + nameLength + sizeOfVarInt(valueLength) + valueLength;
    }
    this.#bodySize = body;
    this.#size = sizeOfVarInt(body) + body;
  }

  /** Encoded length in bytes (what kafkajs's `Encoder.size()` would say). */
  size(): number {
    return this.#size;
  }

  /** The encoded record on its own (only for callers other than the batch encoder). */
  get buffer(): Buffer {
    const encoder = new Encoder(this.#size) as unknown as EncoderLike;
    this.writeTo(encoder);
    return encoder.buffer;
  }

  /** Appends the record to `encoder`. */
  writeTo(encoder: EncoderLike): void {
    encoder.ensureAvailable(this.#size);
    const buf = encoder.buf;
    let offset = writeVarInt(buf, encoder.offset, this.#bodySize);
    buf[offset++] = 0; // attributes: none are used per record
    offset = writeVarLong(buf, offset, this.#timestampDelta);
    offset = writeVarInt(buf, offset, this.#offsetDelta);
    offset = writeVarInt(buf, offset, this.#keyLength);
    offset = writeBytes(buf, offset, this.#key, this.#keyLength);
    offset = writeVarInt(buf, offset, this.#valueLength);
    offset = writeBytes(buf, offset, this.#value, this.#valueLength);
    const headers = this.#headers;
    offset = writeVarInt(buf, offset, headers.length / 4);
    for (let index = 0; index < headers.length; index += 4) {
      const nameLength = headers[index + 1] as number;
      offset = writeVarInt(buf, offset, nameLength);
      offset = writeBytes(buf, offset, headers[index] as string, nameLength);
      const valueLength = headers[index + 3] as number;
      offset = writeVarInt(buf, offset, valueLength);
      offset = writeBytes(buf, offset, headers[index + 2] as string | Buffer, valueLength);
    }
    encoder.offset = offset;
  }
}

/** kafkajs's record module, allocation-free for the common shape; anything else goes to kafkajs's own code. */
export function encodeRecord(input: RecordInput): PendingRecord | EncoderLike {
  const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = input;
  if (
    !isSafeInt32(offsetDelta) || !Number.isSafeInteger(timestampDelta) ||
    Math.abs(timestampDelta) >= MAX_VARLONG_MAGNITUDE || !isBytes(key) || !isBytes(value)
  ) {
    return originalRecord(input);
  }
  const flat: (string | Buffer | number)[] = [];
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const item = headers[name];
    if (Array.isArray(item)) {
      for (const part of item) {
        if (!pushHeader(flat, name, part)) return originalRecord(input);
      }
    } else if (!pushHeader(flat, name, item)) {
      return originalRecord(input);
    }
  }
  return new PendingRecord(timestampDelta, offsetDelta, key ?? null, value ?? null, flat);
}

function pushHeader(flat: (string | Buffer | number)[], name: string, value: unknown): boolean {
  // kafkajs measures and writes a null header value inconsistently; leave that (and non-bytes) to its own code.
  if (typeof value !== "string" && !Buffer.isBuffer(value)) return false;
  flat.push(name, byteLength(name), value, byteLength(value));
  return true;
}

function isBytes(value: unknown): value is string | Buffer | null | undefined {
  return value === null || value === undefined || typeof value === "string" || Buffer.isBuffer(value);
}

function isSafeInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff;
}

// Strings longer than this (message values) are measured and written natively: ~0.3 µs for 560 ASCII characters
// against ~2.4 µs in a JS loop; shorter ones (keys, header names and values) are cheaper in the loop.
const NATIVE_FROM = 48;
const UTF8 = new TextEncoder();

/** UTF-8 length (-1 for null). */
function byteLength(value: string | Buffer | null): number {
  if (value === null) return -1;
  if (typeof value !== "string") return value.length;
  if (value.length > NATIVE_FROM) return Buffer.byteLength(value, "utf8");
  for (let index = 0; index < value.length; index++) {
    if (value.charCodeAt(index) >= 0x80) return Buffer.byteLength(value, "utf8");
  }
  return value.length;
}

function writeBytes(buf: Buffer, offset: number, value: string | Buffer | null, length: number): number {
  if (value === null) return offset;
  if (typeof value !== "string") {
    buf.set(value, offset);
  } else if (value.length > NATIVE_FROM) {
    UTF8.encodeInto(value, buf.subarray(offset, offset + length));
  } else if (length === value.length) {
    for (let index = 0; index < length; index++) buf[offset + index] = value.charCodeAt(index);
  } else {
    buf.write(value, offset, length, "utf8");
  }
  return offset + length;
}

/** Zigzag LEB128 of a 32-bit integer, as kafkajs's `writeVarInt`. */
function writeVarInt(buf: Buffer, offset: number, value: number): number {
  let encoded = (value << 1) ^ (value >> 31);
  while ((encoded & 0xffffff80) !== 0) {
    buf[offset++] = (encoded & 0x7f) | 0x80;
    encoded >>>= 7;
  }
  buf[offset++] = encoded & 0x7f;
  return offset;
}

function sizeOfVarInt(value: number): number {
  let encoded = (value << 1) ^ (value >> 31);
  let bytes = 1;
  while ((encoded & 0xffffff80) !== 0) {
    bytes++;
    encoded >>>= 7;
  }
  return bytes;
}

/** Zigzag LEB128 of a safe integer below 2^51 in magnitude, as kafkajs's Long-based `writeVarLong`. */
function writeVarLong(buf: Buffer, offset: number, value: number): number {
  let encoded = value >= 0 ? value * 2 : -value * 2 - 1;
  while (encoded >= 0x80) {
    buf[offset++] = (encoded % 0x80) | 0x80;
    encoded = Math.floor(encoded / 0x80);
  }
  buf[offset++] = encoded;
  return offset;
}

function sizeOfVarLong(value: number): number {
  let encoded = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (encoded >= 0x80) {
    bytes++;
    encoded = Math.floor(encoded / 0x80);
  }
  return bytes;
}

/** kafkajs's `writeEncoderArray`, also accepting pending records (written in place, with one buffer growth). */
export function writeEncoderArray(this: EncoderLike, values: unknown): EncoderLike {
  if (!Array.isArray(values)) throw new Error("all values should be an instance of Encoder[]");
  let pending = 0;
  for (const value of values) {
    if (value instanceof PendingRecord) pending += value.size();
    else if (value == null || !Buffer.isBuffer(value.buf)) {
      throw new Error("all values should be an instance of Encoder[]");
    }
  }
  if (pending > 0) this.ensureAvailable(pending);
  for (const value of values) {
    if (value instanceof PendingRecord) value.writeTo(this);
    else this.writeBufferInternal((value as EncoderLike).buffer);
  }
  return this;
}

/** kafkajs's original `writeEncoderArray`, kept for the equivalence test. */
export const originalWriteEncoderArray: (this: EncoderLike, values: unknown) => EncoderLike =
  Encoder.prototype.writeEncoderArray;

Encoder.prototype.writeEncoderArray = writeEncoderArray;
require.cache[recordPath]!.exports = encodeRecord;
