/**
 * Prediction and dead-letter messages, as read back from their topics, into
 * the plain records `summary.ts` computes on. A message that does not decode
 * is counted as unreadable by the caller, never thrown: one bad message must
 * not hide the summary of thousands of good ones.
 *
 * @module
 */
import type { DeadLetterRecord, PredictionRecord, SourcePosition } from "./summary.ts";

/** A message as `readTopic` in `src/kafka/reader.ts` returns it (only the fields used here). */
export interface TopicMessage {
  /** Message timestamp, ms since the epoch. */
  timestamp: number;
  /** Value bytes, or null. */
  value: Uint8Array | null;
  /** Headers as text. */
  headers: Record<string, string>;
}

const decoder = new TextDecoder();

/** Decodes a prediction message, or returns undefined when it is not one. */
export function decodePrediction(message: TopicMessage): PredictionRecord | undefined {
  if (!message.value) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(message.value));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const value = parsed as Record<string, unknown>;
  const probability = Number(value.churn_probability);
  if (typeof value.customerID !== "string" || !Number.isFinite(probability)) return undefined;
  const record: PredictionRecord = {
    customerID: value.customerID,
    churn_probability: probability,
    prediction: typeof value.prediction === "string" ? value.prediction : probability >= 0.5 ? "Yes" : "No",
    brokerTimestampMs: Number.isFinite(message.timestamp) ? message.timestamp : undefined,
  };
  if (typeof value.event_ts === "string") record.event_ts = value.event_ts;
  if (typeof value.processed_ts === "string") record.processed_ts = value.processed_ts;
  if (typeof value.inference_latency_ms === "number") record.inference_latency_ms = value.inference_latency_ms;
  if (typeof value.model_version === "string") record.model_version = value.model_version;
  if (typeof value.event_id === "string") record.event_id = value.event_id;
  const source = sourceOf(message.headers, "source-");
  if (source) record.source = source;
  return record;
}

// A dead letter keeps the original bytes as its value, so its reason travels in a header: `dlq-reason` is
// churnctl's (src/schema/deadletter.schema.json); the others are common names, for dead letters other tools wrote.
const REASON_HEADERS = ["dlq-reason", "reason", "x-reason", "error-reason"];

/** Decodes a dead letter's reason (a header, or a `reason` field of a JSON envelope); "unknown" when absent. */
export function decodeDeadLetter(message: TopicMessage): DeadLetterRecord {
  const letter = decodeReason(message);
  const source = sourceOf(message.headers, "dlq-source-");
  return source ? { ...letter, source } : letter;
}

/** Reads `<prefix>topic`, `<prefix>partition` and `<prefix>offset` headers, when all three are there. */
export function sourceOf(headers: Record<string, string>, prefix: string): SourcePosition | undefined {
  const topic = headers[`${prefix}topic`];
  const partition = Number(headers[`${prefix}partition`]);
  const offset = Number(headers[`${prefix}offset`]);
  if (!topic || !Number.isInteger(partition) || !Number.isInteger(offset)) return undefined;
  return { topic, partition, offset };
}

function decodeReason(message: TopicMessage): DeadLetterRecord {
  const timestampMs = Number.isFinite(message.timestamp) ? message.timestamp : undefined;
  const headers = Object.fromEntries(
    Object.entries(message.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  for (const name of REASON_HEADERS) {
    if (headers[name]) return { reason: headers[name], timestampMs };
  }
  const anyReason = Object.entries(headers).find(([name]) => name.endsWith("reason"));
  if (anyReason?.[1]) return { reason: anyReason[1], timestampMs };
  if (message.value) {
    try {
      const parsed = JSON.parse(decoder.decode(message.value));
      if (typeof parsed?.reason === "string") return { reason: parsed.reason, timestampMs };
    } catch {
      // The original bytes of a poison message: no envelope to read.
    }
  }
  return { reason: "unknown", timestampMs };
}
