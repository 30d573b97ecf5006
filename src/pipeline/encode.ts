/**
 * Predictions and dead letters as records to write. The formats are the
 * contract of the output topics and are documented by
 * `src/schema/prediction.schema.json` and `src/schema/deadletter.schema.json`.
 *
 * Dead letters keep the original value bytes untouched and describe the
 * failure in `dlq-*` headers (see deadletter.schema.json for why).
 *
 * @module
 */
import type { CustomerEvent } from "../schema/customer.ts";
import type { HeaderValue, InputMessage, OutputRecord } from "./records.ts";
import type { ScoredOutcome } from "./score.ts";

/** The prediction message value (`prediction.schema.json`). */
export interface Prediction {
  /** Customer the prediction is about (also the message key). */
  customerID: string;
  /** The input event's id. */
  event_id: string;
  /** P(churn = Yes). */
  churn_probability: number;
  /** `Yes` or `No` at the model's threshold. */
  prediction: "Yes" | "No";
  /** Confidence in the prediction made. */
  confidence_score: number;
  /** Model version. */
  model_version: string;
  /** Copied from the input event. */
  event_ts: string;
  /** When the batch was scored, ISO-8601 UTC. */
  processed_ts: string;
  /** The batch's model time divided by the number of records scored. */
  inference_latency_ms: number;
  /** Number of records scored in the same model call. */
  batch_size: number;
}

/** What every record of a batch shares. */
export interface BatchContext {
  /** Source topic. */
  topic: string;
  /** Source partition. */
  partition: number;
  /** ISO time of the batch's processing. */
  processedTs: string;
  /** Model ms per record. */
  inferenceLatencyMs: number;
  /** Records scored in the model call. */
  batchSize: number;
}

/** Builds the prediction record of one scored event. */
export function encodePrediction(
  topic: string,
  event: CustomerEvent,
  outcome: ScoredOutcome,
  message: InputMessage,
  context: BatchContext,
): OutputRecord {
  const value: Prediction = {
    customerID: event.customerID,
    event_id: event.event_id,
    churn_probability: outcome.churn_probability,
    prediction: outcome.prediction,
    confidence_score: outcome.confidence_score,
    model_version: outcome.model_version,
    event_ts: event.event_ts,
    processed_ts: context.processedTs,
    inference_latency_ms: context.inferenceLatencyMs,
    batch_size: context.batchSize,
  };
  return {
    topic,
    key: event.customerID,
    value: JSON.stringify(value),
    headers: {
      "source-topic": context.topic,
      "source-partition": String(context.partition),
      "source-offset": message.offset,
    },
  };
}

/** Why a message was dead-lettered. */
export interface DeadLetterCause {
  /** Stable reason code (`invalid_json`, `schema_violation`-family codes, `too_large`, a model reason…). */
  reason: string;
  /** Readable message. */
  message: string;
  /** The event's id, when it could be read. */
  eventId?: string;
}

/** Names of the headers a dead letter adds; every other header is the original message's. */
export const DLQ_HEADERS = {
  reason: "dlq-reason",
  message: "dlq-message",
  sourceTopic: "dlq-source-topic",
  sourcePartition: "dlq-source-partition",
  sourceOffset: "dlq-source-offset",
  sourceTimestamp: "dlq-source-timestamp",
  eventId: "dlq-event-id",
  failedTs: "dlq-failed-ts",
} as const;

/** Builds the dead-letter record of one message: original key, value and headers, plus `dlq-*` headers. */
export function encodeDeadLetter(
  topic: string,
  message: InputMessage,
  cause: DeadLetterCause,
  context: Pick<BatchContext, "topic" | "partition" | "processedTs">,
): OutputRecord {
  const headers: Record<string, HeaderValue> = {};
  if (message.headers) {
    for (const name in message.headers) {
      // An original dlq-* header (a dead letter replayed and failing again) is replaced by this failure's.
      if (!name.startsWith("dlq-")) headers[name] = message.headers[name];
    }
  }
  headers[DLQ_HEADERS.reason] = cause.reason;
  headers[DLQ_HEADERS.message] = cause.message;
  headers[DLQ_HEADERS.sourceTopic] = context.topic;
  headers[DLQ_HEADERS.sourcePartition] = String(context.partition);
  headers[DLQ_HEADERS.sourceOffset] = message.offset;
  headers[DLQ_HEADERS.sourceTimestamp] = message.timestamp;
  headers[DLQ_HEADERS.failedTs] = context.processedTs;
  if (cause.eventId !== undefined) headers[DLQ_HEADERS.eventId] = cause.eventId;
  return { topic, key: message.key, value: message.value, headers };
}
