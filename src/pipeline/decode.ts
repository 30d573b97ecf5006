/**
 * Bytes → customer event: size check, strict UTF-8, one `JSON.parse`, then
 * the schema's compiled validator. A message that fails any step comes back
 * as a value with a stable reason code — never thrown — so the batch goes on
 * and the message is dead-lettered.
 *
 * @module
 */
import { type CustomerEvent, type InvalidReason, validateCustomerEvent } from "../schema/customer.ts";

/** Reasons a message's bytes could not become an event, before any schema check. */
export type DecodeReason =
  | "tombstone"
  | "empty_value"
  | "too_large"
  | "invalid_encoding"
  | "invalid_json"
  | "duplicate_key";

/** Every reason code a dead letter can carry from decoding and validation. */
export type RejectReason = DecodeReason | InvalidReason;

/** The outcome of decoding one message. */
export type Decoded =
  | { ok: true; event: CustomerEvent }
  | { ok: false; reason: RejectReason; message: string; eventId?: string };

/** Options of {@link EventDecoder}. */
export interface DecodeOptions {
  /** Largest value accepted, in bytes; larger ones are `too_large`. @default 65536 */
  maxEventBytes?: number;
}

/** Default of {@link DecodeOptions.maxEventBytes}: 100× a typical event, far below Kafka's 1 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 65536;

// Only the first bytes are searched for an id in a message that cannot be parsed: enough for any producer
// that writes event_id near the front, and bounded so a huge poison message costs nothing.
const EVENT_ID_SCAN_BYTES = 4096;
const EVENT_ID_PATTERN = /"event_id"\s*:\s*"((?:[^"\\]|\\.){1,128})"/;

/**
 * Decodes message values into customer events.
 *
 * @example
 * ```ts
 * const decoder = new EventDecoder();
 * decoder.decode(null); // { ok: false, reason: "tombstone", ... }
 * ```
 */
export class EventDecoder {
  #maxBytes: number;
  // fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: keep a BOM in the text so it is seen and refused.
  #strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  #lossy = new TextDecoder("utf-8");

  constructor(options: DecodeOptions = {}) {
    this.#maxBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  }

  /** Decodes one value; never throws. */
  decode(value: Uint8Array | null): Decoded {
    if (value === null) {
      return { ok: false, reason: "tombstone", message: "the message has no value (a tombstone)" };
    }
    if (value.byteLength === 0) {
      return { ok: false, reason: "empty_value", message: "the message value is empty" };
    }
    if (value.byteLength > this.#maxBytes) {
      return {
        ok: false,
        reason: "too_large",
        message: `the value is ${value.byteLength} bytes, more than the limit of ${this.#maxBytes}`,
        eventId: this.#scanEventId(value),
      };
    }
    let text: string;
    try {
      text = this.#strict.decode(value);
    } catch {
      return {
        ok: false,
        reason: "invalid_encoding",
        message: "the value is not valid UTF-8",
        eventId: this.#scanEventId(value),
      };
    }
    if (text.charCodeAt(0) === 0xfeff) {
      return {
        ok: false,
        reason: "invalid_encoding",
        message: "the value starts with a byte order mark (JSON must not)",
        eventId: scanEventId(text),
      };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return {
        ok: false,
        reason: "invalid_json",
        message: `not JSON: ${(error as Error).message.slice(0, 160)}`,
        eventId: scanEventId(text),
      };
    }
    const validation = validateCustomerEvent(parsed);
    if (validation.ok) {
      // JSON.parse keeps the last of duplicated keys silently; other readers may keep the first. A valid-looking
      // event whose text has more members than the object it parsed to is ambiguous: refused, never guessed.
      if (countTopLevelMembers(text) === Object.keys(validation.value).length) {
        return { ok: true, event: validation.value };
      }
      return {
        ok: false,
        reason: "duplicate_key",
        message: "the event has a duplicated field name (which value is meant is ambiguous)",
        eventId: validation.value.event_id,
      };
    }
    const id = (parsed as { event_id?: unknown } | null)?.event_id;
    return {
      ok: false,
      reason: validation.reason,
      message: validation.message,
      eventId: typeof id === "string" && id !== "" ? id.slice(0, 128) : undefined,
    };
  }

  #scanEventId(value: Uint8Array): string | undefined {
    return scanEventId(this.#lossy.decode(value.subarray(0, EVENT_ID_SCAN_BYTES)));
  }
}

/** Finds an `"event_id": "…"` pair in text that is not valid JSON, so its dead letter can still be traced. */
export function scanEventId(text: string): string | undefined {
  const match = EVENT_ID_PATTERN.exec(text.length > EVENT_ID_SCAN_BYTES ? text.slice(0, EVENT_ID_SCAN_BYTES) : text);
  if (!match) return undefined;
  try {
    return JSON.parse(`"${match[1]}"`);
  } catch {
    return match[1];
  }
}

/**
 * Counts the members of the top-level JSON object in `text` (already known to parse as an object): commas at depth 1
 * outside strings, plus one. Linear and allocation-free, so it costs next to nothing per event.
 */
export function countTopLevelMembers(text: string): number {
  let depth = 0;
  let members = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
      continue;
    }
    if (code === 0x22) {
      inString = true;
      if (depth === 1 && members === 0) members = 1;
    } else if (code === 0x7b || code === 0x5b) depth++;
    else if (code === 0x7d || code === 0x5d) depth--;
    else if (code === 0x2c && depth === 1) members++;
  }
  return members;
}
