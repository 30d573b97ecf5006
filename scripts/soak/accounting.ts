/**
 * The soak's proof: every message of the input topic, read back independently
 * of the consumer, is matched to its prediction (headers `source-partition` /
 * `source-offset`) or its dead letter (`dlq-source-partition` /
 * `dlq-source-offset`). None may be missing; extra outputs are duplicates.
 * Plain values in and out, so it is unit-tested without a broker.
 *
 * @module
 */
import type { ReadMessage } from "../../src/kafka/reader.ts";

/** The soak's header naming the bad kind of a message it produced itself. */
export const KIND_HEADER = "soak-kind";
/** The soak's header with the reason a bad message must be dead-lettered with. */
export const EXPECT_HEADER = "soak-expect";

/** What the three topics add up to. */
export interface Accounting {
  /** Messages on the input topic. */
  events: number;
  /** Distinct input event ids (messages with a readable `event_id`). */
  event_ids: number;
  /** Input messages that carry an event id another input message carries too (a producer duplicate). */
  input_duplicate_event_ids: number;
  /** Inputs with exactly one or more predictions and no dead letter. */
  predicted: number;
  /** Inputs with one or more dead letters and no prediction. */
  dead_lettered: number;
  /** Inputs with neither: must be 0. */
  missing: number;
  /** Outputs beyond one per input (at-least-once repeats). */
  duplicates: number;
  /** Inputs that got both a prediction and a dead letter. */
  conflicting: number;
  /** Outputs pointing at no input message (must be 0). */
  orphans: number;
  /** Predictions whose `event_id` differs from their input's. */
  event_id_mismatches: number;
  /** Dead letters by reason (one per input). */
  dead_letters: Record<string, number>;
  /** Soak-made bad messages dead-lettered with another reason than expected. */
  reason_mismatches: number;
  /** Dead letters whose value or key differ from the input's bytes. */
  altered_dead_letters: number;
  /** Up to 10 missing inputs, `partition:offset event_id`. */
  missing_examples: string[];
}

const decoder = new TextDecoder();

function eventIdOf(value: Uint8Array | null): string | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(decoder.decode(value));
    return typeof parsed?.event_id === "string" ? parsed.event_id : undefined;
  } catch {
    return undefined;
  }
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}

/** Matches the outputs to the inputs; see the module doc. */
export function account(inputs: ReadMessage[], predictions: ReadMessage[], deadLetters: ReadMessage[]): Accounting {
  const byPlace = new Map<string, { message: ReadMessage; eventId?: string; predicted: number; dead: number }>();
  const idCounts = new Map<string, number>();
  for (const message of inputs) {
    const eventId = eventIdOf(message.value);
    if (eventId !== undefined) idCounts.set(eventId, (idCounts.get(eventId) ?? 0) + 1);
    byPlace.set(`${message.partition}:${message.offset}`, { message, eventId, predicted: 0, dead: 0 });
  }
  let orphans = 0;
  let mismatches = 0;
  for (const prediction of predictions) {
    const entry = byPlace.get(`${prediction.headers["source-partition"]}:${prediction.headers["source-offset"]}`);
    if (!entry) {
      orphans++;
      continue;
    }
    entry.predicted++;
    if (eventIdOf(prediction.value) !== entry.eventId) mismatches++;
  }
  const reasons: Record<string, number> = {};
  let reasonMismatches = 0;
  let altered = 0;
  for (const dead of deadLetters) {
    const entry = byPlace.get(`${dead.headers["dlq-source-partition"]}:${dead.headers["dlq-source-offset"]}`);
    if (!entry) {
      orphans++;
      continue;
    }
    if (entry.dead === 0) {
      const reason = dead.headers["dlq-reason"] ?? "(none)";
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      const expected = entry.message.headers[EXPECT_HEADER];
      if (expected !== undefined && expected !== reason) reasonMismatches++;
    }
    entry.dead++;
    if (!sameBytes(dead.value, entry.message.value) || dead.key !== entry.message.key) altered++;
  }
  let predicted = 0, deadLettered = 0, missing = 0, duplicates = 0, conflicting = 0;
  const examples: string[] = [];
  for (const [place, entry] of byPlace) {
    const outputs = entry.predicted + entry.dead;
    if (outputs === 0) {
      missing++;
      if (examples.length < 10) examples.push(`${place} ${entry.eventId ?? "(no event id)"}`);
      continue;
    }
    duplicates += outputs - 1;
    if (entry.predicted > 0 && entry.dead > 0) conflicting++;
    else if (entry.predicted > 0) predicted++;
    else deadLettered++;
  }
  let inputDuplicates = 0;
  for (const count of idCounts.values()) if (count > 1) inputDuplicates += count - 1;
  return {
    events: inputs.length,
    event_ids: idCounts.size,
    input_duplicate_event_ids: inputDuplicates,
    predicted,
    dead_lettered: deadLettered,
    missing,
    duplicates,
    conflicting,
    orphans,
    event_id_mismatches: mismatches,
    dead_letters: Object.fromEntries(Object.entries(reasons).sort(([a], [b]) => a.localeCompare(b))),
    reason_mismatches: reasonMismatches,
    altered_dead_letters: altered,
    missing_examples: examples,
  };
}
