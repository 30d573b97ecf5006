/**
 * Builds the messages of the input topic from customers or CSV rows: the
 * value is the record plus `event_id` and `event_ts`, the key is the
 * customerID, and the headers carry the schema version and the producer's
 * run id. Plain values in and out: the command adds the topic and sends.
 *
 * @module
 */
import { type Customer, CUSTOMER_SCHEMA_VERSION, type InvalidReason, normalizeCsvRow } from "../schema/customer.ts";
import type { CsvRow } from "./csv_source.ts";

/** Header carrying {@link CUSTOMER_SCHEMA_VERSION}. */
export const SCHEMA_VERSION_HEADER = "schema-version";
/** Header carrying the id of the producer run that sent the event. */
export const RUN_ID_HEADER = "producer-run-id";

/** A message ready to be sent (the command adds the topic). */
export interface EventMessage {
  /** Message key: the customerID, or null when a raw invalid row has none. */
  key: string | null;
  /** JSON text of the event. */
  value: string;
  /** `schema-version` and `producer-run-id`. */
  headers: Record<string, string>;
}

/** Why a CSV row was not turned into an event. */
export interface InvalidRow {
  /** 1-based data row number. */
  row: number;
  /** File line where the row ends. */
  line: number;
  /** Stable reason code (the same codes the consumer dead-letters with). */
  reason: InvalidReason;
  /** Offending column, when known. */
  field?: string;
  /** Readable message. */
  message: string;
}

/** The outcome of turning one CSV row into a customer. */
export type RowOutcome =
  | { ok: true; customer: Customer }
  | { ok: false; invalid: InvalidRow };

/** Normalizes and validates one CSV row with the schema's rules (`normalizeCsvRow`). */
export function checkRow(row: CsvRow): RowOutcome {
  if (row.extra.length > 0) {
    return {
      ok: false,
      invalid: {
        row: row.rowNumber,
        line: row.line,
        reason: "unexpected_field",
        message: `the row has ${row.extra.length} cell${row.extra.length > 1 ? "s" : ""} more than the header`,
      },
    };
  }
  const result = normalizeCsvRow(row.cells);
  if (result.ok) return { ok: true, customer: result.value };
  return {
    ok: false,
    invalid: {
      row: row.rowNumber,
      line: row.line,
      reason: result.reason,
      field: result.field,
      message: result.message,
    },
  };
}

/**
 * Issues event ids and times for one producer run. Ids are `<run id>-<n>`:
 * unique across runs (the run id is a UUID) and telling which run sent them.
 */
export class EventStamper {
  #runId: string;
  #sequence = 0;
  #now: () => number;
  #headers: Record<string, string>;

  constructor(runId: string, now: () => number = Date.now) {
    this.#runId = runId;
    this.#now = now;
    this.#headers = { [SCHEMA_VERSION_HEADER]: CUSTOMER_SCHEMA_VERSION, [RUN_ID_HEADER]: runId };
  }

  /** The run id every event of this run carries. */
  get runId(): string {
    return this.#runId;
  }

  /** Events stamped so far. */
  get count(): number {
    return this.#sequence;
  }

  /** The message of a valid customer: the record plus `event_id` and `event_ts`, keyed by customerID. */
  customerEvent(customer: Customer): EventMessage {
    const value = JSON.stringify({ ...customer, event_id: this.#nextId(), event_ts: this.#timestamp() });
    return { key: customer.customerID, value, headers: this.#headers };
  }

  /**
   * The message of an invalid row sent as it is (`--send-invalid`): its raw
   * cells (extra cells under `_extra`) plus `event_id` and `event_ts`, so the
   * consumer dead-letters it and the dead letter is still traceable.
   */
  rawRowEvent(row: CsvRow): EventMessage {
    const raw: Record<string, unknown> = { ...row.cells };
    if (row.extra.length > 0) raw._extra = row.extra;
    raw.event_id = this.#nextId();
    raw.event_ts = this.#timestamp();
    const key = row.cells.customerID?.trim();
    return { key: key ? key : null, value: JSON.stringify(raw), headers: this.#headers };
  }

  #nextId(): string {
    this.#sequence++;
    return `${this.#runId}-${this.#sequence}`;
  }

  #timestamp(): string {
    return new Date(this.#now()).toISOString();
  }
}
