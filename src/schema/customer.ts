/**
 * The customer event: its fields, the JSON Schema that validates it
 * (`customer-event.schema.json`, the documented contract of the input topic),
 * and the normalization of a CSV row of the data set into an event.
 *
 * Validation failures come back as values with a stable reason code — never
 * thrown — so a producer can count them and a consumer can dead-letter them.
 *
 * @module
 */
import { Ajv, type ErrorObject } from "ajv";
import schema from "./customer-event.schema.json" with { type: "json" };

/** Version carried in the `schema-version` header of every event. */
export const CUSTOMER_SCHEMA_VERSION = "1";

/** Columns of the data set in file order (the CSV header). */
export const CSV_COLUMNS = [
  "customerID",
  "gender",
  "SeniorCitizen",
  "Partner",
  "Dependents",
  "tenure",
  "PhoneService",
  "MultipleLines",
  "InternetService",
  "OnlineSecurity",
  "OnlineBackup",
  "DeviceProtection",
  "TechSupport",
  "StreamingTV",
  "StreamingMovies",
  "Contract",
  "PaperlessBilling",
  "PaymentMethod",
  "MonthlyCharges",
  "TotalCharges",
  "Churn",
] as const;

/** Allowed values of each categorical column, read from the schema so there is one list. */
export const CATEGORY_VALUES: Readonly<
  Record<string, readonly (string | number)[]>
> = Object.fromEntries(
  Object.entries(schema.properties)
    .filter(([, property]) => "enum" in property)
    .map((
      [name, property],
    ) => [name, (property as { enum: (string | number)[] }).enum]),
);

/** A customer as the stream carries it: numbers as numbers, SeniorCitizen 0/1, blank TotalCharges as null. */
export interface Customer {
  customerID: string;
  gender: string;
  SeniorCitizen: number;
  Partner: string;
  Dependents: string;
  tenure: number;
  PhoneService: string;
  MultipleLines: string;
  InternetService: string;
  OnlineSecurity: string;
  OnlineBackup: string;
  DeviceProtection: string;
  TechSupport: string;
  StreamingTV: string;
  StreamingMovies: string;
  Contract: string;
  PaperlessBilling: string;
  PaymentMethod: string;
  MonthlyCharges: number;
  TotalCharges: number | null;
  /** The label, when the source knows it. */
  Churn?: string;
}

/** A customer event: the record plus its id and time. */
export interface CustomerEvent extends Customer {
  /** Unique per event. */
  event_id: string;
  /** ISO-8601 UTC with milliseconds. */
  event_ts: string;
}

/** Stable reason codes of a record that does not fit the schema. */
export type InvalidReason =
  | "missing_field"
  | "unexpected_field"
  | "wrong_type"
  | "unknown_category"
  | "out_of_range"
  | "bad_format"
  | "not_an_object";

/** The outcome of a validation: the typed value, or a reason code and a readable message. */
export type Validation<T> =
  | { ok: true; value: T }
  | { ok: false; reason: InvalidReason; message: string; field?: string };

const ajv = new Ajv({ allErrors: false, strict: false });
const validateEvent = ajv.compile<CustomerEvent>(schema);

/** Validates a parsed JSON value against the customer event schema. */
export function validateCustomerEvent(
  value: unknown,
): Validation<CustomerEvent> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      reason: "not_an_object",
      message: "the event is not a JSON object",
    };
  }
  if (validateEvent(value)) {
    const event = value as CustomerEvent;
    if (isCalendarTimestamp(event.event_ts)) return { ok: true, value: event };
    return {
      ok: false,
      reason: "bad_format",
      field: "event_ts",
      message: `event_ts: ${JSON.stringify(event.event_ts)} is not a real date and time`,
    };
  }
  return describeSchemaError(validateEvent.errors?.[0]);
}

/**
 * The schema's pattern admits `2024-13-45T99:99:99Z`; Date.parse refuses some of those and rolls others over
 * (Feb 30 → Mar 1), so the time must read back to the same text to be a real one.
 */
function isCalendarTimestamp(text: string): boolean {
  const ms = Date.parse(text);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19);
}

function describeSchemaError(
  error: ErrorObject | undefined,
): Validation<never> {
  if (!error) {
    return {
      ok: false,
      reason: "wrong_type",
      message: "the event does not match the schema",
    };
  }
  const field = error.instancePath.replace(/^\//, "") || undefined;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return {
        ok: false,
        reason: "missing_field",
        field: String(params.missingProperty),
        message: `missing field ${params.missingProperty}`,
      };
    case "additionalProperties":
      return {
        ok: false,
        reason: "unexpected_field",
        field: String(params.additionalProperty),
        message: `unexpected field ${JSON.stringify(params.additionalProperty).slice(0, 80)}`,
      };
    case "enum":
      return {
        ok: false,
        reason: "unknown_category",
        field,
        message: `${field}: not one of ${
          (params.allowedValues as unknown[]).map((v) => JSON.stringify(v))
            .join(", ")
        }`,
      };
    case "minimum":
    case "maximum":
      return {
        ok: false,
        reason: "out_of_range",
        field,
        message: `${field}: ${error.message}`,
      };
    case "pattern":
    case "minLength":
    case "maxLength":
      return {
        ok: false,
        reason: "bad_format",
        field,
        message: `${field}: ${error.message}`,
      };
    default:
      return {
        ok: false,
        reason: "wrong_type",
        field,
        message: `${field ?? "event"}: ${error.message}`,
      };
  }
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a numeric CSV cell; `undefined` when it is not a plain finite number. */
function parseNumberCell(text: string): number | undefined {
  const trimmed = text.trim();
  if (!NUMBER_TEXT.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Turns one CSV row (all strings, keyed by the header) into a customer:
 * numbers parsed, `SeniorCitizen` to 0/1, a blank `TotalCharges` to null,
 * enums checked. The row is not an event yet: the producer adds
 * `event_id` and `event_ts`.
 */
export function normalizeCsvRow(
  row: Readonly<Record<string, string | undefined>>,
): Validation<Customer> {
  const record: Record<string, unknown> = {};
  for (const column of CSV_COLUMNS) {
    const raw = row[column];
    if (raw === undefined) {
      if (column === "Churn") continue;
      return {
        ok: false,
        reason: "missing_field",
        field: column,
        message: `missing column ${column}`,
      };
    }
    const text = raw.trim();
    if (column === "TotalCharges" && text === "") {
      record[column] = null;
    } else if (
      column === "tenure" || column === "MonthlyCharges" ||
      column === "TotalCharges" || column === "SeniorCitizen"
    ) {
      const value = parseNumberCell(text);
      if (value === undefined) {
        return {
          ok: false,
          reason: "wrong_type",
          field: column,
          message: `${column}: '${text}' is not a number`,
        };
      }
      record[column] = value;
    } else if (column === "Churn" && text === "") {
      continue;
    } else {
      record[column] = text;
    }
  }
  const probe = validateCustomerEvent({
    ...record,
    event_id: "x",
    event_ts: "2000-01-01T00:00:00.000Z",
  });
  if (!probe.ok) return probe;
  return { ok: true, value: record as unknown as Customer };
}
