/**
 * The output side: an idempotent, `acks=all`, gzip producer that sends a
 * batch of records to one or more topics and resolves only when the broker
 * has acknowledged all of them. Callers commit input offsets after that.
 *
 * @module
 */
// Before kafkajs loads: measured hot-path fixes (see patches.ts).
import "./patches.ts";
import { CompressionTypes, type Message, Partitioners, type Producer } from "kafkajs";
import type { Logger } from "../log.ts";
import { type ConnectionSettings, createKafka } from "./client.ts";
import { toBrokerError } from "./errors.ts";

/** One record to write. */
export interface OutgoingRecord {
  /** Destination topic. */
  topic: string;
  /** Message key (the customerID). */
  key: string | null;
  /** Message value: JSON text, or the original bytes of a dead letter. */
  value: string | Uint8Array | null;
  /** Message headers. */
  headers?: Record<string, string | Uint8Array>;
  /** Fixed partition, when the caller needs one. */
  partition?: number;
}

/** Options of {@link openProducer}. */
export interface ProducerOptions {
  /** gzip the batches (the owner's setting; off only for benchmarks). @default true */
  gzip?: boolean;
  /** Retries of a send before it fails (exponential backoff). @default 8 */
  retries?: number;
  /** First retry delay in ms (doubled per retry, at most 5 s). @default 100 */
  initialRetryTimeMs?: number;
  /** kafkajs log lines go here at debug level. */
  logger?: Logger;
  /** A transactional id makes the producer transactional (exactly-once mode). */
  transactionalId?: string;
}

/** A connected producer; see {@link openProducer}. */
export interface RecordWriter {
  /** Sends every record and resolves when all are acknowledged by all in-sync replicas. */
  send(records: readonly OutgoingRecord[]): Promise<void>;
  /** Flushes nothing (sends are awaited) and closes the connection. */
  close(): Promise<void>;
  /** The underlying client, for `src/kafka/` modules only (transactions). */
  readonly raw: Producer;
}

/**
 * Send retries that ride out a broker restart: ~50 s of backoff (100 ms doubling to 5 s). The default 8 (~15 s)
 * gave up during the soak's 12-second broker restarts and stopped both `produce` and `consume` (issue 9).
 */
export const BROKER_RESTART_RETRIES = 15;

/** Groups records by topic in first-seen order, as kafkajs's `sendBatch` wants them. */
export function groupByTopic(records: readonly OutgoingRecord[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let messages = byTopic.get(record.topic);
    if (!messages) byTopic.set(record.topic, messages = []);
    messages.push({
      key: record.key,
      value: record.value as Message["value"],
      headers: record.headers as Message["headers"],
      partition: record.partition,
    });
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** Connects an idempotent `acks=all` producer. */
export async function openProducer(settings: ConnectionSettings, options: ProducerOptions = {}): Promise<RecordWriter> {
  const kafka = createKafka(settings, { retries: options.retries ?? 8, logger: options.logger });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    transactionalId: options.transactionalId,
    retry: { retries: options.retries ?? 8, initialRetryTime: options.initialRetryTimeMs ?? 100, maxRetryTime: 5000 },
  });
  try {
    await producer.connect();
  } catch (error) {
    await producer.disconnect().catch(() => {});
    throw toBrokerError(error, settings);
  }
  const compression = options.gzip === false ? CompressionTypes.None : CompressionTypes.GZIP;
  return {
    raw: producer,
    async send(records) {
      if (records.length === 0) return;
      try {
        await producer.sendBatch({ topicMessages: groupByTopic(records), acks: -1, compression });
      } catch (error) {
        throw toBrokerError(error, settings);
      }
    },
    async close() {
      await producer.disconnect().catch(() => {});
    },
  };
}
