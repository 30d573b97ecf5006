/**
 * Reads a topic from the start (or a time) up to the end it had when the
 * read began, without joining the scorer's group or committing anything.
 * Used by `summary`, the tests and the soak's independent accounting.
 * Reads with `read_committed`, so aborted transactions are never counted.
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { type ConnectionSettings, createKafka } from "./client.ts";
import { toBrokerError } from "./errors.ts";

/** One message as read back. */
export interface ReadMessage {
  /** Topic it was read from. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** Broker (or producer) timestamp, ms since the epoch. */
  timestamp: number;
  /** Key bytes as text, or null. */
  key: string | null;
  /** Value bytes, or null for a tombstone. */
  value: Uint8Array | null;
  /** Headers as text. */
  headers: Record<string, string>;
}

/** Options of {@link readTopic}. */
export interface ReadOptions {
  /** Only messages with a timestamp at or after this (ms since the epoch). */
  sinceMs?: number;
  /** Only messages with a timestamp before this. */
  untilMs?: number;
  /** Give up waiting for the end after this long without a message. @default 5000 */
  idleMs?: number;
  /** Kafka log lines at debug level. */
  logger?: Logger;
}

const decoder = new TextDecoder();

/** Reads every committed message of `topic` present when the call starts. */
export async function readTopic(
  settings: ConnectionSettings,
  topic: string,
  options: ReadOptions = {},
): Promise<ReadMessage[]> {
  const kafka = createKafka(settings, { retries: 5, logger: options.logger });
  const admin = kafka.admin();
  const groupId = `churnctl-reader-${crypto.randomUUID()}`;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  const messages: ReadMessage[] = [];
  try {
    await admin.connect();
    const ends = new Map<number, number>();
    for (const mark of await admin.fetchTopicOffsets(topic)) {
      if (Number(mark.high) > Number(mark.low)) ends.set(mark.partition, Number(mark.high));
    }
    let starts: Map<number, number> | undefined;
    if (options.sinceMs !== undefined) {
      starts = new Map();
      for (const item of await admin.fetchTopicOffsetsByTimestamp(topic, options.sinceMs)) {
        starts.set(item.partition, Number(item.offset));
      }
    }
    if (ends.size === 0) return messages;
    const remaining = new Set(ends.keys());
    for (const [partition, start] of starts ?? []) {
      if (start < 0 || start >= (ends.get(partition) ?? 0)) remaining.delete(partition);
    }
    if (remaining.size === 0) return messages;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let lastProgress = Date.now();
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => finish = resolve);
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        lastProgress = Date.now();
        for (const message of batch.messages) {
          const timestamp = Number(message.timestamp);
          if (options.sinceMs !== undefined && timestamp < options.sinceMs) continue;
          if (options.untilMs !== undefined && timestamp >= options.untilMs) continue;
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            if (value !== undefined) headers[name] = decoder.decode(value as Uint8Array);
          }
          messages.push({
            topic,
            partition: batch.partition,
            offset: Number(message.offset),
            timestamp,
            key: message.key ? decoder.decode(message.key) : null,
            value: message.value ? new Uint8Array(message.value) : null,
            headers,
          });
        }
        if (Number(batch.lastOffset()) + 1 >= (ends.get(batch.partition) ?? 0)) remaining.delete(batch.partition);
        if (remaining.size === 0) finish();
        await Promise.resolve();
      },
    });
    if (starts) {
      for (const [partition, offset] of starts) {
        if (offset >= 0) consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
    const idleMs = options.idleMs ?? 5000;
    await Promise.race([
      finished,
      new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (Date.now() - lastProgress > idleMs) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
        finished.then(() => clearInterval(timer));
      }),
    ]);
    return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } catch (error) {
    throw toBrokerError(error, settings);
  } finally {
    await consumer.disconnect().catch(() => {});
    // The throwaway group would otherwise linger in the broker's group list.
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}
