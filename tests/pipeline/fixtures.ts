/**
 * Inputs for the scoring pipeline's tests: valid events, one malformed
 * message per reason code, and a fake model.
 *
 * @module
 */
import { EventStamper } from "../../src/pipeline/events.ts";
import type { InputMessage } from "../../src/pipeline/records.ts";
import type { ScoreOutcome, Scorer } from "../../src/pipeline/score.ts";
import { SyntheticCustomers } from "../../src/pipeline/synthetic.ts";

const encoder = new TextEncoder();

/** A valid event message: key, JSON value and its event id. */
export interface TestEvent {
  key: string;
  value: string;
  eventId: string;
  headers: Record<string, string>;
}

/** `count` valid events from the synthetic generator, with fresh event ids. */
export function validEvents(count: number, seed = 7): TestEvent[] {
  const customers = new SyntheticCustomers({ seed });
  const stamper = new EventStamper(crypto.randomUUID());
  return Array.from({ length: count }, () => {
    const message = stamper.customerEvent(customers.next());
    return { ...message, key: message.key!, eventId: JSON.parse(message.value).event_id };
  });
}

/** A malformed message and the reason it must be dead-lettered with. */
export interface MalformedCase {
  reason: string;
  key: string | null;
  value: Uint8Array | null;
  /** The event id the dead letter must carry, when it can be read. */
  eventId?: string;
}

/** One malformed message per reason the decoder and the schema give, built from a valid event. */
export function malformedCases(base: TestEvent, tag = crypto.randomUUID().slice(0, 8)): MalformedCase[] {
  const event = JSON.parse(base.value) as Record<string, unknown>;
  const withId = (suffix: string) => ({ ...event, event_id: `bad-${tag}-${suffix}` });
  const json = (value: unknown) => encoder.encode(JSON.stringify(value));
  const cases: MalformedCase[] = [];
  const add = (reason: string, value: Uint8Array | null, eventId?: string) =>
    cases.push({ reason, key: base.key, value, eventId });
  add("tombstone", null);
  add("empty_value", new Uint8Array(0));
  const big = withId("too_large");
  add(
    "too_large",
    encoder.encode(JSON.stringify({ event_id: big.event_id, padding: "x".repeat(70000) })),
    big.event_id,
  );
  const latin = withId("invalid_encoding");
  const latinBytes = json({ ...latin, gender: "F\u00e9male" });
  // Replace the two UTF-8 bytes of "é" (C3 A9) by a lone Latin-1 byte E9: invalid UTF-8.
  const at = latinBytes.findIndex((byte, index) => byte === 0xc3 && latinBytes[index + 1] === 0xa9);
  add(
    "invalid_encoding",
    new Uint8Array([...latinBytes.subarray(0, at), 0xe9, ...latinBytes.subarray(at + 2)]),
    latin.event_id,
  );
  const bom = withId("bom");
  add("invalid_encoding", new Uint8Array([0xef, 0xbb, 0xbf, ...json(bom)]), bom.event_id);
  const broken = withId("invalid_json");
  add("invalid_json", encoder.encode(JSON.stringify(broken).slice(0, -5)), broken.event_id);
  add("not_an_object", encoder.encode("[1,2,3]"));
  const missing = withId("missing_field");
  delete (missing as Record<string, unknown>).tenure;
  add("missing_field", json(missing), missing.event_id);
  const extra = withId("unexpected_field");
  add("unexpected_field", json({ ...extra, favourite_colour: "teal" }), extra.event_id);
  const wrongType = withId("wrong_type");
  add("wrong_type", json({ ...wrongType, tenure: "twelve" }), wrongType.event_id);
  const category = withId("unknown_category");
  add("unknown_category", json({ ...category, Contract: "Three year" }), category.event_id);
  const range = withId("out_of_range");
  add("out_of_range", json({ ...range, tenure: -4 }), range.event_id);
  const format = withId("bad_format");
  add("bad_format", json({ ...format, event_ts: "yesterday" }), format.event_id);
  return cases;
}

/** Builds an input message at `offset`. */
export function inputMessage(
  offset: number,
  value: Uint8Array | string | null,
  key: string | null = "k",
  headers: Record<string, string> = {},
): InputMessage {
  return {
    offset: String(offset),
    timestamp: String(1_700_000_000_000 + offset),
    key: key === null ? null : encoder.encode(key),
    value: typeof value === "string" ? encoder.encode(value) : value,
    headers,
  };
}

/** A fake model: P(churn) from tenure, calls recorded, optional rejections and failures. */
export class FakeScorer implements Scorer {
  readonly version = "fake:1";
  /** The records of every call. */
  readonly calls: unknown[][] = [];
  #reject: (record: Record<string, unknown>) => string | undefined;
  #fail: (records: readonly unknown[]) => boolean;

  constructor(
    options: {
      reject?: (record: Record<string, unknown>) => string | undefined;
      fail?: (records: readonly unknown[]) => boolean;
    } = {},
  ) {
    this.#reject = options.reject ?? (() => undefined);
    this.#fail = options.fail ?? (() => false);
  }

  score(records: readonly unknown[]): Promise<{ results: ScoreOutcome[]; inferenceMs: number }> {
    this.calls.push([...records]);
    if (this.#fail(records)) return Promise.reject(new Error("model exploded"));
    const results = records.map((record): ScoreOutcome => {
      const fields = record as Record<string, unknown>;
      const reason = this.#reject(fields);
      if (reason) return { ok: false, reason, message: `rejected: ${reason}` };
      const p = Math.max(0, Math.min(1, 1 - Number(fields.tenure) / 72));
      return {
        ok: true,
        churn_probability: p,
        prediction: p >= 0.5 ? "Yes" : "No",
        confidence_score: Math.abs(p - 0.5) * 2,
        model_version: this.version,
      };
    });
    return Promise.resolve({ results, inferenceMs: records.length * 0.01 });
  }
}
