/**
 * The plain values the scoring pipeline takes and returns. They are shaped so
 * that a Kafka client's own message objects fit {@link InputMessage} without
 * a copy (a Node `Buffer` is a `Uint8Array`), and so that an
 * {@link OutputRecord} is what `src/kafka/producer.ts` sends — yet nothing
 * here imports the Kafka client or `src/kafka/`.
 *
 * @module
 */

/** A header value as a Kafka client hands it over (repeated header names arrive as an array). */
export type HeaderValue = Uint8Array | string | (Uint8Array | string)[] | undefined;

/** One consumed message, as plain values. */
export interface InputMessage {
  /** Offset in its partition, as decimal text (Kafka offsets are 64-bit). */
  offset: string;
  /** Broker (or producer) timestamp, ms since the epoch, as decimal text. */
  timestamp: string;
  /** Key bytes, or null. */
  key: Uint8Array | null;
  /** Value bytes, or null for a tombstone. */
  value: Uint8Array | null;
  /** Headers as the client decoded them. */
  headers?: Record<string, HeaderValue>;
}

/** Messages of one topic-partition, in offset order: the unit that is scored and committed together. */
export interface InputBatch {
  /** Source topic. */
  topic: string;
  /** Source partition. */
  partition: number;
  /** The messages, in offset order. */
  messages: readonly InputMessage[];
}

/** One record to write; structurally the `OutgoingRecord` of `src/kafka/producer.ts`, plus byte keys. */
export interface OutputRecord {
  /** Destination topic. */
  topic: string;
  /** Message key: the customerID of a prediction, the original key bytes of a dead letter. */
  key: string | Uint8Array | null;
  /** JSON text of a prediction, or the original bytes of a dead letter. */
  value: string | Uint8Array | null;
  /** Headers. */
  headers?: Record<string, HeaderValue>;
}

/** Where the pipeline writes. */
export interface OutputTopics {
  /** Topic of predictions. */
  predictions: string;
  /** Topic of dead letters. */
  deadletter: string;
}
