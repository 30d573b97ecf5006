/**
 * The bad-input catalogue shared by the fuzz tests and the chaos soak: named
 * fast-check generators of Kafka messages (key, value bytes, headers) that the
 * consumer must dead-letter, each carrying the reason code it must get, plus
 * generators of valid (and valid-but-unusual) events it must predict.
 *
 * Every bad kind starts from a valid event and breaks exactly one thing, so the
 * expected reason is known: with one fault the schema's first failing keyword
 * is that fault (required → additionalProperties → properties, in schema order).
 *
 * @module
 */
import fc from "fast-check";
import { CATEGORY_VALUES, CSV_COLUMNS } from "../../src/schema/customer.ts";
import { DEFAULT_MAX_EVENT_BYTES } from "../../src/pipeline/decode.ts";

/** What the consumer must do with a generated message: predict it, or dead-letter it with this reason. */
export type Expectation = "predicted" | string;

/** One generated Kafka message. */
export interface FuzzMessage {
  /** Name of the generator that made it. */
  kind: string;
  /** Message key (null: no key). */
  key: string | null;
  /** Value bytes (null: a tombstone). */
  value: Uint8Array | null;
  /** `predicted`, or the dead-letter reason code it must carry. */
  expect: Expectation;
}

/** A named generator. */
export interface MessageKind {
  /** Stable name, shown in test steps and soak reports. */
  name: string;
  /** The messages it makes. */
  arbitrary: fc.Arbitrary<FuzzMessage>;
}

const encoder = new TextEncoder();
const utf8 = (text: string) => encoder.encode(text);

/** A valid event as a plain object (the customer-event schema, version 1). */
export type EventObject = Record<string, unknown>;

const ENUM_FIELDS = Object.keys(CATEGORY_VALUES);
const STRING_FIELDS = ["event_id", "event_ts", "customerID"] as const;
const NUMBER_FIELDS = ["tenure", "MonthlyCharges", "TotalCharges"] as const;
const REQUIRED_FIELDS = [
  "event_id",
  "event_ts",
  ...CSV_COLUMNS.filter((column) => column !== "Churn"),
];
const TYPED_FIELDS = [...STRING_FIELDS, ...NUMBER_FIELDS];
// Names an extra field must not take (they are the schema's own, or read specially by JavaScript).
const EMPTY_EVENT: Record<string, true> = Object.fromEntries(
  [...REQUIRED_FIELDS, "Churn", "__proto__", "constructor"].map((name) => [name, true]),
);

const idArb = fc.tuple(fc.uuid(), fc.nat(999_999)).map(([uuid, n]) => `fz-${uuid}-${n}`);
const tsArb = fc.date({
  min: new Date("2000-01-01T00:00:00Z"),
  max: new Date("2099-12-31T23:59:59Z"),
  noInvalidDate: true,
})
  .map((date) => date.toISOString());
const customerIdArb = fc.stringMatching(/^[0-9]{4}-[A-Z]{5}$/);
const moneyArb = (max: number) => fc.double({ min: 0, max, noNaN: true, noDefaultInfinity: true });

/** A valid event: every field drawn from what the schema allows. */
export const validEventArb: fc.Arbitrary<EventObject> = fc.record({
  event_id: idArb,
  event_ts: tsArb,
  customerID: customerIdArb,
  ...Object.fromEntries(ENUM_FIELDS.map((field) => [field, fc.constantFrom(...CATEGORY_VALUES[field])])),
  tenure: fc.integer({ min: 0, max: 1200 }),
  MonthlyCharges: moneyArb(10000),
  TotalCharges: fc.option(moneyArb(10_000_000), { nil: null, freq: 10 }),
}).map((event) => {
  // Churn is in CATEGORY_VALUES but optional in the schema: valid_with_churn_label adds it.
  const { Churn: _label, ...rest } = event as EventObject;
  return rest;
});

const json = (value: unknown) => utf8(JSON.stringify(value));
const keyOf = (event: EventObject) => String(event.customerID);

/** A bad kind built from a valid event by a change that makes exactly one fault. */
function broken(
  name: string,
  change: fc.Arbitrary<(event: EventObject) => { value: Uint8Array | null; expect: string; key?: string | null }>,
): MessageKind {
  return {
    name,
    arbitrary: fc.tuple(validEventArb, change).map(([event, apply]) => {
      const made = apply(event);
      return {
        kind: name,
        key: made.key === undefined ? keyOf(event) : made.key,
        value: made.value,
        expect: made.expect,
      };
    }),
  };
}

/** Replaces one field of the event and serializes it; `expect` from the field. */
function withField(
  fields: readonly string[],
  values: fc.Arbitrary<unknown>,
  expect: (field: string, value: unknown) => string,
) {
  return fc.tuple(fc.constantFrom(...fields), values).map(([field, value]) => (event: EventObject) => ({
    value: json({ ...event, [field]: value }),
    expect: expect(field, value),
  }));
}

/** Splices raw JSON text for one field (for values JSON.stringify cannot write: NaN, 1e309, …). */
function withRawField(fields: readonly string[], texts: fc.Arbitrary<string>, expect: string) {
  return fc.tuple(fc.constantFrom(...fields), texts).map(([field, text]) => (event: EventObject) => {
    const marker = `"__raw_${field}__"`;
    const body = JSON.stringify({ ...event, [field]: marker.slice(1, -1) }).replace(marker, text);
    return { value: utf8(body), expect };
  });
}

const isEnum = (field: string) => ENUM_FIELDS.includes(field);
const typeOrCategory = (field: string) => isEnum(field) ? "unknown_category" : "wrong_type";
const nonString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({ a: 1 }),
);
const nonNumber = fc.oneof(fc.string(), fc.boolean(), fc.array(fc.integer(), { maxLength: 3 }), fc.constant({ n: 1 }));
const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xfe],
  [0xc3, 0x28], // a lead byte without its continuation
  [0xa9], // a lone continuation byte
  [0xc0, 0xaf], // overlong "/"
  [0xed, 0xa0, 0x80], // an encoded UTF-16 surrogate
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xe9], // Latin-1 "é"
);

/**
 * Every bad kind, by name. At least 30: the fuzz test asserts the count.
 */
export const BAD_KINDS: readonly MessageKind[] = [
  broken(
    "truncated_json",
    fc.double({ min: 0, max: 0.999, noNaN: true }).map((cut) => (event: EventObject) => {
      const text = JSON.stringify(event);
      return { value: utf8(text.slice(0, Math.max(1, Math.floor(text.length * cut)))), expect: "invalid_json" };
    }),
  ),
  broken(
    "trailing_garbage",
    fc.constantFrom("}", "x", ",", " {}", "]", "\u0000").map((tail) => (event: EventObject) => ({
      value: utf8(JSON.stringify(event) + tail),
      expect: "invalid_json",
    })),
  ),
  broken(
    "single_quoted_json",
    fc.constant((event: EventObject) => ({
      value: utf8(JSON.stringify(event).replaceAll('"', "'")),
      expect: "invalid_json",
    })),
  ),
  broken(
    "unquoted_keys",
    fc.constant((event: EventObject) => ({
      value: utf8(JSON.stringify(event).replace(/"([A-Za-z_]+)":/g, "$1:")),
      expect: "invalid_json",
    })),
  ),
  broken(
    "nan_literal",
    withRawField(NUMBER_FIELDS, fc.constantFrom("NaN", "-NaN"), "invalid_json"),
  ),
  broken(
    "infinity_literal",
    withRawField(NUMBER_FIELDS, fc.constantFrom("Infinity", "-Infinity", "+Infinity"), "invalid_json"),
  ),
  broken(
    "number_overflow_1e309",
    withRawField(
      ["tenure", "MonthlyCharges", "TotalCharges"],
      fc.constantFrom("1e309", "-1e309", "9".repeat(400)),
      "out_of_range",
    ),
  ),
  broken(
    "non_json_number_syntax",
    withRawField(NUMBER_FIELDS, fc.constantFrom("0x1F", "012", "+5", ".5", "5.", "1e", "--1"), "invalid_json"),
  ),
  broken(
    "raw_control_char_in_string",
    fc.constantFrom("\u0001", "\n", "\t", "\u001f").map((char) => (event: EventObject) => ({
      value: utf8(JSON.stringify(event).replace(/"customerID":"/, `"customerID":"${char}`)),
      expect: "invalid_json",
    })),
  ),
  broken("top_level_array", fc.constant((event: EventObject) => ({ value: json([event]), expect: "not_an_object" }))),
  broken(
    "top_level_scalar",
    fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null)).map((scalar) => () => ({
      value: json(scalar),
      expect: "not_an_object",
    })),
  ),
  broken("wrapped_event", fc.constant((event: EventObject) => ({ value: json({ event }), expect: "missing_field" }))),
  broken(
    "wrong_type_string_field",
    withField(STRING_FIELDS, nonString, () => "wrong_type"),
  ),
  broken(
    "wrong_type_number_field",
    withField(NUMBER_FIELDS, nonNumber.filter((value) => value !== null), () => "wrong_type"),
  ),
  broken(
    "string_where_number_belongs",
    withField(NUMBER_FIELDS, fc.integer({ min: 0, max: 100 }).map(String), () => "wrong_type"),
  ),
  broken(
    "wrong_type_category_field",
    withField(
      ENUM_FIELDS,
      fc.oneof(fc.integer({ min: 2 }), fc.boolean(), fc.constant(null), fc.constant([])),
      () => "unknown_category",
    ),
  ),
  broken(
    "number_category_as_string",
    withField(["SeniorCitizen"], fc.constantFrom("0", "1", "yes"), () => "unknown_category"),
  ),
  broken(
    "fractional_tenure",
    withField(
      ["tenure"],
      fc.double({ min: 0.01, max: 1199, noNaN: true }).filter((x) => !Number.isInteger(x)),
      () => "wrong_type",
    ),
  ),
  broken(
    "negative_value",
    withField(NUMBER_FIELDS, fc.integer({ min: -1_000_000_000, max: -1 }), () => "out_of_range"),
  ),
  broken(
    "absurd_value",
    fc.oneof(
      withField(["tenure"], fc.integer({ min: 1201, max: 2 ** 31 }), () => "out_of_range"),
      withField(
        ["MonthlyCharges"],
        fc.double({ min: 10000.01, max: 1e300, noNaN: true, noDefaultInfinity: true }),
        () => "out_of_range",
      ),
      withField(
        ["TotalCharges"],
        fc.double({ min: 1e7 + 1, max: 1e300, noNaN: true, noDefaultInfinity: true }),
        () => "out_of_range",
      ),
    ),
  ),
  broken(
    "unknown_category",
    withField(
      ENUM_FIELDS.filter((field) => field !== "SeniorCitizen"),
      fc.constantFrom("Other", "Maybe", "Weekly", "N/A", "Fiber", "?"),
      () => "unknown_category",
    ),
  ),
  broken(
    "category_wrong_case_or_space",
    fc.constantFrom(...ENUM_FIELDS.filter((field) => field !== "SeniorCitizen")).chain((field) =>
      fc.tuple(fc.constant(field), fc.constantFrom(...CATEGORY_VALUES[field]), fc.constantFrom("lower", "upper", "pad"))
    ).map(([field, value, how]) => (event: EventObject) => {
      const text = String(value);
      const changed = how === "lower" ? text.toLowerCase() : how === "upper" ? text.toUpperCase() : ` ${text} `;
      return {
        value: json({ ...event, [field]: changed === text ? `${text}!` : changed }),
        expect: "unknown_category",
      };
    }),
  ),
  broken(
    "missing_field",
    fc.constantFrom(...REQUIRED_FIELDS).map((field) => (event: EventObject) => {
      const copy = { ...event };
      delete copy[field];
      return { value: json(copy), expect: "missing_field" };
    }),
  ),
  broken(
    "extra_field",
    fc.tuple(fc.stringMatching(/^[a-z_][a-z0-9_]{0,20}$/).filter((name) => !(name in EMPTY_EVENT)), fc.jsonValue())
      .map(([name, value]) => (event: EventObject) => ({
        value: json({ ...event, [name]: value }),
        expect: "unexpected_field",
      })),
  ),
  broken(
    "empty_string_field",
    withField(
      [...STRING_FIELDS, ...ENUM_FIELDS, ...NUMBER_FIELDS],
      fc.constant(""),
      (field) =>
        isEnum(field) ? "unknown_category" : NUMBER_FIELDS.includes(field as never) ? "wrong_type" : "bad_format",
    ),
  ),
  broken(
    "null_field",
    withField([...STRING_FIELDS, ...ENUM_FIELDS, "tenure", "MonthlyCharges"], fc.constant(null), typeOrCategory),
  ),
  broken(
    "bad_timestamp",
    withField(
      ["event_ts"],
      fc.constantFrom("yesterday", "2024-01-01", "2024-01-01 10:00:00", "1700000000000", "2024-01-01T10:00:00+02:00"),
      () => "bad_format",
    ),
  ),
  broken(
    "impossible_timestamp",
    withField(
      ["event_ts"],
      fc.constantFrom("2024-13-01T00:00:00Z", "2024-02-30T10:00:00Z", "0000-99-99T99:99:99Z", "2024-01-01T24:61:00Z"),
      () => "bad_format",
    ),
  ),
  broken(
    "overlong_id",
    fc.oneof(
      withField(["event_id"], fc.integer({ min: 129, max: 4000 }).map((n) => "e".repeat(n)), () => "bad_format"),
      withField(["customerID"], fc.integer({ min: 65, max: 4000 }).map((n) => "c".repeat(n)), () => "bad_format"),
    ),
  ),
  {
    name: "tombstone",
    arbitrary: customerIdArb.map((key) => ({ kind: "tombstone", key, value: null, expect: "tombstone" })),
  },
  {
    name: "empty_value",
    arbitrary: customerIdArb.map((key) => ({
      kind: "empty_value",
      key,
      value: new Uint8Array(0),
      expect: "empty_value",
    })),
  },
  broken(
    "whitespace_value",
    fc.constantFrom(" ", "\n", "\t \r\n").map((text) => () => ({ value: utf8(text), expect: "invalid_json" })),
  ),
  broken(
    "missing_key_and_bad_value",
    fc.constant((event: EventObject) => ({ key: null, value: json({ ...event, tenure: "?" }), expect: "wrong_type" })),
  ),
  broken(
    "non_utf8_bytes",
    fc.tuple(invalidUtf8, fc.constantFrom(...ENUM_FIELDS.filter((field) => field !== "SeniorCitizen"))).map(
      ([bytes, field]) => (event: EventObject) => {
        const text = JSON.stringify({ ...event, [field]: "@@" });
        const at = text.indexOf("@@");
        const value = new Uint8Array([...utf8(text.slice(0, at)), ...bytes, ...utf8(text.slice(at + 2))]);
        return { value, expect: "invalid_encoding" };
      },
    ),
  ),
  broken(
    "utf8_bom",
    fc.constant((event: EventObject) => ({
      value: new Uint8Array([0xef, 0xbb, 0xbf, ...json(event)]),
      expect: "invalid_encoding",
    })),
  ),
  broken(
    "utf16_with_bom",
    fc.constant((event: EventObject) => {
      const text = JSON.stringify(event);
      const bytes = new Uint8Array(2 + text.length * 2);
      bytes.set([0xff, 0xfe]);
      for (let index = 0; index < text.length; index++) bytes[2 + index * 2] = text.charCodeAt(index) & 0xff;
      return { value: bytes, expect: "invalid_encoding" };
    }),
  ),
  broken(
    "deeply_nested_field",
    fc.tuple(fc.constantFrom(...TYPED_FIELDS, ...ENUM_FIELDS), fc.integer({ min: 100, max: 20000 }), fc.boolean()).map(
      ([field, depth, arrays]) => (event: EventObject) => {
        const open = arrays ? "[" : '{"a":';
        const close = arrays ? "]" : "}";
        const nested = open.repeat(depth) + "1" + close.repeat(depth);
        const marker = `"__nested__"`;
        const text = JSON.stringify({ ...event, [field]: "__nested__" }).replace(marker, nested);
        const expect = text.length > DEFAULT_MAX_EVENT_BYTES ? "too_large" : typeOrCategory(field);
        return { value: utf8(text), expect };
      },
    ),
  ),
  broken(
    "deeply_nested_document",
    fc.integer({ min: 100, max: 30000 }).map((depth) => () => ({
      value: utf8("[".repeat(depth) + "]".repeat(depth)),
      expect: depth * 2 > DEFAULT_MAX_EVENT_BYTES ? "too_large" : "not_an_object",
    })),
  ),
  broken(
    "over_size_limit",
    fc.integer({ min: 1, max: 200_000 }).map((extra) => (event: EventObject) => {
      const text = JSON.stringify(event);
      // Valid JSON apart from its size: padded with spaces before the closing brace.
      const padding = Math.max(0, DEFAULT_MAX_EVENT_BYTES - text.length) + extra;
      return { value: utf8(text.slice(0, -1) + " ".repeat(padding) + "}"), expect: "too_large" };
    }),
  ),
  broken(
    "duplicated_key",
    fc.tuple(fc.constantFrom(...REQUIRED_FIELDS), fc.boolean()).map(([field, sameValue]) => (event: EventObject) => {
      // The last value is valid: JSON.parse keeps it, so a lenient reader would accept a message other readers see otherwise.
      const first = sameValue ? JSON.stringify(event[field]) : JSON.stringify("?");
      return {
        value: utf8(`{${JSON.stringify(field)}:${first},` + JSON.stringify(event).slice(1)),
        expect: "duplicate_key",
      };
    }),
  ),
  broken(
    "proto_field",
    fc.constantFrom('{"tenure":-1}', "null", "{}", '{"isAdmin":true}', "[]").map((payload) => (event: EventObject) => ({
      value: utf8(`{"__proto__":${payload},` + JSON.stringify(event).slice(1)),
      expect: "unexpected_field",
    })),
  ),
  broken(
    "prototype_names_as_fields",
    fc.constantFrom("constructor", "prototype", "toString", "hasOwnProperty", "valueOf").map(
      (name) => (event: EventObject) => ({
        value: json({ ...event, [name]: 1 }),
        expect: "unexpected_field",
      }),
    ),
  ),
];

/** Every valid kind: the consumer must predict each one. */
export const VALID_KINDS: readonly MessageKind[] = [
  {
    name: "valid_event",
    arbitrary: validEventArb.map((event) => ({
      kind: "valid_event",
      key: keyOf(event),
      value: json(event),
      expect: "predicted",
    })),
  },
  {
    name: "valid_null_total_charges",
    arbitrary: validEventArb.map((event) => ({
      kind: "valid_null_total_charges",
      key: keyOf(event),
      value: json({ ...event, TotalCharges: null }),
      expect: "predicted",
    })),
  },
  {
    name: "valid_with_churn_label",
    arbitrary: fc.tuple(validEventArb, fc.constantFrom("Yes", "No")).map(([event, churn]) => ({
      kind: "valid_with_churn_label",
      key: keyOf(event),
      value: json({ ...event, Churn: churn }),
      expect: "predicted",
    })),
  },
  {
    name: "valid_pretty_printed_reordered",
    arbitrary: validEventArb.map((event) => ({
      kind: "valid_pretty_printed_reordered",
      key: keyOf(event),
      value: utf8(JSON.stringify(Object.fromEntries(Object.entries(event).reverse()), null, 2)),
      expect: "predicted",
    })),
  },
  {
    // The key is routing only (the prediction is keyed by the value's customerID): a missing key is not a fault.
    name: "valid_without_kafka_key",
    arbitrary: validEventArb.map((event) => ({
      kind: "valid_without_kafka_key",
      key: null,
      value: json(event),
      expect: "predicted",
    })),
  },
];

/** Any message: mostly valid ones, and every bad kind. */
export function mixedMessageArb(validWeight = 3): fc.Arbitrary<FuzzMessage> {
  return fc.oneof(
    ...VALID_KINDS.map((kind) => ({ arbitrary: kind.arbitrary, weight: validWeight })),
    ...BAD_KINDS.map((kind) => ({ arbitrary: kind.arbitrary, weight: 1 })),
  );
}
