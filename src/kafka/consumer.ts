/**
 * The input side, in Redpanda Connect's shape: a consumer group on the input
 * topic that hands out batches, each with an `ack()` that commits exactly
 * that batch's offsets. The caller acks only after the batch's output was
 * acknowledged by the broker, so at-least-once falls out of the shape:
 * nothing is ever committed ahead of its output.
 *
 * kafkajs settings that make it so: `autoCommit: false`,
 * `eachBatchAutoResolve: false`, and in `ack()` `resolveOffset` +
 * `commitOffsetsIfNecessary(offsets)` with the batch's own next offset.
 * A batch that is released instead of acked commits nothing and is
 * delivered again (to this process or, after a rebalance, another).
 *
 * Several batches (of different partitions) are in flight at once, one per
 * partition of a fetch, so scoring one overlaps writing another. Batches of
 * one partition always commit in offset order.
 *
 * @module
 */
import type { Consumer, EachBatchPayload, KafkaMessage } from "kafkajs";
import { BrokerError, oneLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { InputBatch, OutputRecord } from "../pipeline/records.ts";
import { type ConnectionSettings, createKafka } from "./client.ts";
import { isBrokerAway, toBrokerError } from "./errors.ts";
import type { OutgoingRecord, RecordWriter } from "./producer.ts";
import { Buffer } from "node:buffer";

/** Options of {@link openBatchConsumer}. */
export interface BatchConsumerOptions {
  /** Topic to consume. */
  topic: string;
  /** Consumer group id. */
  group: string;
  /** Largest batch handed out, in messages; a larger fetch is split. @default 2000 */
  maxBatchMessages?: number;
  /** Fetch `maxBytes` (all partitions; bounds memory when there are many). @default 4194304 */
  fetchMaxBytes?: number;
  /**
   * Fetch `maxBytesPerPartition` (compressed bytes: gzip makes 128 KiB about 2,500 events). 512 KiB was no faster
   * here and took 60 MB more peak RSS. @default 131072
   */
  partitionMaxBytes?: number;
  /**
   * How long the broker holds a fetch that has no data; also kafkajs's sleep between fetches while every partition
   * is paused, so it bounds how late fetching resumes after backpressure. @default 5
   */
  maxWaitMs?: number;
  /** Partitions processed at once (batches in flight). @default 3 */
  concurrency?: number;
  /** Group session timeout. @default 30000 */
  sessionTimeoutMs?: number;
  /** Heartbeat interval, also used while a batch is in the caller's hands. @default 3000 */
  heartbeatIntervalMs?: number;
  /**
   * Backpressure: fetching pauses while the batches handed over and not yet settled hold more than this many key and
   * value bytes, and resumes below it, so memory stays bounded whatever the backlog. @default 16777216
   */
  maxInFlightBytes?: number;
  /** kafkajs lines at debug level, group events at info. */
  logger?: Logger;
}

/** Where to commit to mark a batch (or its first `count` messages) as done. */
export interface CommitPoint {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Next offset to read: last processed + 1 (Kafka's commit convention). */
  offset: string;
}

/** A batch handed to the pipeline, with the calls that settle it. */
export interface ConsumedBatch extends InputBatch {
  /** High watermark of the partition when fetched (for lag). */
  readonly highWatermark: string;
  /** When the batch was handed over, ms since the epoch. */
  readonly fetchedAt: number;
  /** The commit that marks the first `count` messages (default all) done. */
  commitPoint(count?: number): CommitPoint;
  /**
   * Commits the offsets of the first `count` messages (default all) after
   * every earlier batch of the partition committed. Call it only after the
   * output of those messages was acknowledged. Rejects (and commits nothing)
   * when an earlier batch of the partition was released.
   */
  ack(count?: number): Promise<void>;
  /** Marks the first `count` messages done without committing (a transaction committed them). */
  markCommitted(count?: number): Promise<void>;
  /** Gives the batch back uncommitted: it will be delivered again. */
  release(): void;
}

/** What the consumer has seen, for progress lines and metrics. */
export interface ConsumerState {
  /** Partitions currently assigned. */
  assigned: number[];
  /** Lag per partition: high watermark minus the next offset after the last batch handed out. */
  lag: Map<number, number>;
  /** Key and value bytes of the batches handed over and not yet settled. */
  inFlightBytes: number;
}

/** A connected consumer group member; see {@link openBatchConsumer}. */
export interface BatchConsumer {
  /**
   * The next batch, or `undefined` when none arrived within `timeoutMs`,
   * the signal aborted, or the consumer is closed. Rejects with a
   * {@link BrokerError} when the client crashed for good.
   */
  read(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ConsumedBatch | undefined>;
  /** Stops fetching (backpressure); batches already handed out stay valid. */
  pause(): void;
  /** Resumes fetching. */
  resume(): void;
  /** Assignment and lag. */
  state(): ConsumerState;
  /** Releases every batch not handed out, leaves the group and disconnects. */
  close(): Promise<void>;
}

/** The step that makes a batch's output durable and its input done; exactly-once swaps in a transactional one. */
export interface CommitStep {
  /** The delivery guarantee this step gives. */
  readonly guarantee: "at-least-once" | "exactly-once";
  /** Writes `records`, then marks the first `count` messages of `batch` (default all) done. */
  complete(batch: ConsumedBatch, records: readonly OutputRecord[], count?: number): Promise<void>;
}

/** At-least-once: send and await every acknowledgement (acks=all), then commit the batch's offsets. */
export function atLeastOnce(writer: RecordWriter): CommitStep {
  return {
    guarantee: "at-least-once",
    async complete(batch, records, count) {
      await writer.send(toKafkaRecords(records));
      await batch.ack(count);
    },
  };
}

/**
 * Makes byte keys, values and headers Node `Buffer`s (a view, no copy): kafkajs
 * writes any other `Uint8Array` as the text "1,2,3", which would corrupt dead letters.
 */
export function toKafkaRecords(records: readonly OutputRecord[]): OutgoingRecord[] {
  for (const record of records) {
    if (isPlainBytes(record.key)) record.key = asBuffer(record.key);
    if (isPlainBytes(record.value)) record.value = asBuffer(record.value);
    const headers = record.headers;
    if (headers) {
      for (const name in headers) {
        const value = headers[name];
        if (isPlainBytes(value)) headers[name] = asBuffer(value);
        else if (Array.isArray(value)) headers[name] = value.map((item) => isPlainBytes(item) ? asBuffer(item) : item);
      }
    }
  }
  // The producer's type says `key: string`; kafkajs takes Buffer keys as they are (dead letters keep the original bytes).
  return records as unknown as OutgoingRecord[];
}

function isPlainBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && !Buffer.isBuffer(value);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface Deferred {
  promise: Promise<boolean>;
  settle: (committed: boolean) => void;
  settled: boolean;
}

function deferred(): Deferred {
  let settle!: (committed: boolean) => void;
  const promise = new Promise<boolean>((resolve) => settle = resolve);
  const item: Deferred = {
    promise,
    settled: false,
    settle: (committed) => {
      if (item.settled) return;
      item.settled = true;
      settle(committed);
    },
  };
  return item;
}

/** An earlier batch of the same partition was released, so this one must not commit past it. */
export class OutOfOrderAckError extends Error {
  constructor(topic: string, partition: number) {
    super(`an earlier batch of ${topic}[${partition}] was not committed; this one is not committed either`);
    this.name = "OutOfOrderAckError";
  }
}

/**
 * The commit was refused because the group is rebalancing or this member lost the partition. The output is
 * written; the batch is delivered again to the partition's new owner (a duplicate, never a loss).
 */
export class RebalanceCommitError extends Error {
  constructor(topic: string, partition: number, cause: unknown) {
    super(`commit of ${topic}[${partition}] refused during a rebalance: ${oneLine(cause)}`, { cause });
    this.name = "RebalanceCommitError";
  }
}

const REBALANCE_ERRORS = new Set([
  "REBALANCE_IN_PROGRESS",
  "ILLEGAL_GENERATION",
  "UNKNOWN_MEMBER_ID",
  "NOT_COORDINATOR_FOR_GROUP",
  "NOT_COORDINATOR",
  "FENCED_INSTANCE_ID",
]);

// A commit that fails because the coordinator went away (a broker restart) is handled like one refused in a
// rebalance: the output is written, the batch is delivered again (a duplicate, never a loss). Before, the consumer
// exited 1 on it right after the soak's broker restarts (issue 9).
const LOST_COORDINATOR_ERRORS = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
]);

function isRebalance(error: unknown): boolean {
  const { type, name } = (error ?? {}) as { type?: unknown; name?: unknown };
  return (typeof type === "string" && REBALANCE_ERRORS.has(type)) ||
    (typeof name === "string" && LOST_COORDINATOR_ERRORS.has(name));
}

class KafkaConsumedBatch implements ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly KafkaMessage[];
  readonly highWatermark: string;
  readonly fetchedAt = Date.now();
  readonly done = deferred();
  #previous: Promise<boolean>;
  #payload: EachBatchPayload;

  constructor(payload: EachBatchPayload, messages: readonly KafkaMessage[], previous: Promise<boolean>) {
    this.topic = payload.batch.topic;
    this.partition = payload.batch.partition;
    this.messages = messages;
    this.highWatermark = payload.batch.highWatermark;
    this.#payload = payload;
    this.#previous = previous;
  }

  commitPoint(count = this.messages.length): CommitPoint {
    const last = this.messages[Math.max(0, Math.min(count, this.messages.length) - 1)].offset;
    return { topic: this.topic, partition: this.partition, offset: (BigInt(last) + 1n).toString() };
  }

  async ack(count = this.messages.length): Promise<void> {
    await this.#settle(count, true);
  }

  async markCommitted(count = this.messages.length): Promise<void> {
    await this.#settle(count, false);
  }

  async #settle(count: number, commit: boolean): Promise<void> {
    if (this.done.settled) return;
    if (!(await this.#previous)) {
      this.done.settle(false);
      throw new OutOfOrderAckError(this.topic, this.partition);
    }
    if (count <= 0) {
      this.done.settle(false);
      return;
    }
    const point = this.commitPoint(count);
    this.#payload.resolveOffset(this.messages[Math.min(count, this.messages.length) - 1].offset);
    try {
      if (commit) {
        await this.#payload.commitOffsetsIfNecessary({
          topics: [{ topic: point.topic, partitions: [{ partition: point.partition, offset: point.offset }] }],
        });
      }
      this.done.settle(count >= this.messages.length);
    } catch (error) {
      this.done.settle(false);
      throw isRebalance(error) ? new RebalanceCommitError(this.topic, this.partition, error) : error;
    }
  }

  release(): void {
    this.done.settle(false);
  }
}

function messageBytes(messages: readonly KafkaMessage[]): number {
  let bytes = 0;
  for (const message of messages) bytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
  return bytes;
}

/** How long a consumer keeps rejoining after the broker went away (a restart takes seconds, not minutes). */
const REJOIN_WINDOW_MS = 60_000;

interface Waiter {
  resolve: (batch: ConsumedBatch | undefined) => void;
  reject: (error: unknown) => void;
}

class KafkaBatchConsumer implements BatchConsumer {
  #consumer: Consumer;
  #options: Required<Omit<BatchConsumerOptions, "logger">>;
  #log: Logger | undefined;
  #queue: KafkaConsumedBatch[] = [];
  /** Every batch not yet settled, handed out or not: close() must settle them or kafkajs never stops. */
  #open = new Set<KafkaConsumedBatch>();
  #waiters: Waiter[] = [];
  #closing = false;
  #failure: BrokerError | undefined;
  #assigned: number[] = [];
  #lag = new Map<number, number>();
  #settings: ConnectionSettings;
  #inFlightBytes = 0;
  /** Paused by the caller (pause()), as opposed to by the in-flight limit. */
  #pausedByCaller = false;
  #pausedByLimit = false;

  constructor(consumer: Consumer, options: BatchConsumerOptions, settings: ConnectionSettings) {
    this.#consumer = consumer;
    this.#log = options.logger;
    this.#settings = settings;
    this.#options = withDefaults(options);
  }

  async start(): Promise<void> {
    const events = this.#consumer.events;
    this.#consumer.on(events.GROUP_JOIN, ({ payload }) => {
      this.#assigned = [...(payload.memberAssignment[this.#options.topic] ?? [])].sort((a, b) => a - b);
      this.#log?.info("joined group", {
        group: this.#options.group,
        topic: this.#options.topic,
        partitions: this.#assigned.join(",") || "none",
      });
    });
    this.#consumer.on(events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.#log?.warn(`consumer restarting after: ${oneLine(payload.error)}`);
        return;
      }
      // kafkajs gives up for good on errors it deems non-retriable, among them "Failed to find group
      // coordinator" while a broker restarts; the soak saw consumers exit on it. Rejoin instead, for a while.
      if (!this.#closing && isBrokerAway(payload.error)) {
        this.#rejoinAfterBrokerLoss(payload.error);
        return;
      }
      this.#fail(toBrokerError(payload.error, this.#settings));
    });
    await this.#join();
  }

  /** Connects, subscribes and starts fetching; kafkajs allows this again once a crash has stopped the consumer. */
  async #join(): Promise<void> {
    await this.#consumer.connect();
    // fromBeginning: a group with no committed offsets starts at the earliest message, so nothing is skipped.
    await this.#consumer.subscribe({ topic: this.#options.topic, fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.concurrency,
      eachBatch: (payload) => this.#onBatch(payload),
    });
  }

  /** Retries {@link #join} with backoff until the broker is back, or fails after {@link REJOIN_WINDOW_MS}. */
  #rejoinAfterBrokerLoss(cause: unknown): void {
    const deadline = Date.now() + REJOIN_WINDOW_MS;
    this.#log?.warn(`lost the broker (${oneLine(cause)}); rejoining the group`);
    const attempt = async (delayMs: number) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (this.#closing) return;
      try {
        await this.#join();
        this.#log?.info("rejoined the group after losing the broker");
      } catch (error) {
        if (Date.now() + delayMs > deadline || !isBrokerAway(error)) {
          this.#fail(toBrokerError(error, this.#settings));
          return;
        }
        await this.#consumer.disconnect().catch(() => {});
        await attempt(Math.min(delayMs * 2, 2000));
      }
    };
    attempt(250).catch((error) => this.#fail(toBrokerError(error, this.#settings)));
  }

  async #onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (this.#closing || batch.messages.length === 0) return;
    const size = this.#options.maxBatchMessages;
    const pieces: KafkaConsumedBatch[] = [];
    let previous: Promise<boolean> = Promise.resolve(true);
    for (let start = 0; start < batch.messages.length; start += size) {
      const piece = new KafkaConsumedBatch(payload, batch.messages.slice(start, start + size), previous);
      previous = piece.done.promise;
      pieces.push(piece);
    }
    const last = batch.messages[batch.messages.length - 1];
    this.#lag.set(batch.partition, Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1));
    for (const piece of pieces) this.#deliver(piece);
    // The batch is in the caller's hands for as long as it takes: keep the group membership alive meanwhile.
    const beat = setInterval(() => {
      payload.heartbeat().catch((error) => this.#log?.debug(`heartbeat: ${oneLine(error)}`));
    }, this.#options.heartbeatIntervalMs);
    try {
      await Promise.all(pieces.map((piece) => piece.done.promise));
    } finally {
      clearInterval(beat);
    }
  }

  #deliver(batch: KafkaConsumedBatch): void {
    this.#open.add(batch);
    const bytes = messageBytes(batch.messages);
    this.#inFlightBytes += bytes;
    if (!this.#pausedByLimit && this.#inFlightBytes > this.#options.maxInFlightBytes) {
      this.#pausedByLimit = true;
      this.#consumer.pause([{ topic: this.#options.topic }]);
    }
    batch.done.promise.then(() => {
      this.#open.delete(batch);
      this.#inFlightBytes -= bytes;
      if (this.#pausedByLimit && this.#inFlightBytes <= this.#options.maxInFlightBytes) {
        this.#pausedByLimit = false;
        if (!this.#pausedByCaller && !this.#closing) this.#consumer.resume([{ topic: this.#options.topic }]);
      }
    });
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(batch);
    else this.#queue.push(batch);
  }

  #fail(error: BrokerError): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  read(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ConsumedBatch | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closing || options.signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
      };
      const waiter: Waiter = {
        resolve: (batch) => {
          finish();
          resolve(batch);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      const onAbort = () => waiter.resolve(undefined);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.timeoutMs !== undefined) timer = setTimeout(() => waiter.resolve(undefined), options.timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  pause(): void {
    this.#pausedByCaller = true;
    this.#consumer.pause([{ topic: this.#options.topic }]);
  }

  resume(): void {
    this.#pausedByCaller = false;
    if (!this.#pausedByLimit) this.#consumer.resume([{ topic: this.#options.topic }]);
  }

  state(): ConsumerState {
    return { assigned: [...this.#assigned], lag: new Map(this.#lag), inFlightBytes: this.#inFlightBytes };
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(undefined);
    // Batches not acked go back uncommitted (the caller awaits its acks before closing; this covers the rest):
    // kafkajs cannot stop while any is pending.
    this.#queue.length = 0;
    for (const batch of this.#open) batch.release();
    await this.#consumer.disconnect().catch((error) => this.#log?.debug(`disconnect: ${oneLine(error)}`));
  }
}

function withDefaults(options: BatchConsumerOptions): Required<Omit<BatchConsumerOptions, "logger">> {
  return {
    topic: options.topic,
    group: options.group,
    maxBatchMessages: options.maxBatchMessages ?? 2000,
    fetchMaxBytes: options.fetchMaxBytes ?? 4 * 1024 * 1024,
    partitionMaxBytes: options.partitionMaxBytes ?? 128 * 1024,
    maxWaitMs: options.maxWaitMs ?? 5,
    concurrency: options.concurrency ?? 3,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3000,
    maxInFlightBytes: options.maxInFlightBytes ?? 16 * 1024 * 1024,
  };
}

/** Joins the group, subscribes (from the earliest offset when the group has none) and starts fetching. */
export async function openBatchConsumer(
  settings: ConnectionSettings,
  options: BatchConsumerOptions,
): Promise<BatchConsumer> {
  const resolved = withDefaults(options);
  const kafka = createKafka(settings, { retries: 8, logger: options.logger });
  const consumer = kafka.consumer({
    groupId: resolved.group,
    sessionTimeout: resolved.sessionTimeoutMs,
    heartbeatInterval: resolved.heartbeatIntervalMs,
    maxBytes: resolved.fetchMaxBytes,
    maxBytesPerPartition: resolved.partitionMaxBytes,
    maxWaitTimeInMs: resolved.maxWaitMs,
    minBytes: 1,
    // Transactional producers upstream (or our own exactly-once mode) must never show aborted records.
    readUncommitted: false,
    allowAutoTopicCreation: false,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  });
  return await startBatchConsumer(consumer, settings, options);
}

/** Starts a {@link BatchConsumer} over an already built kafkajs consumer (tests hand in one they control). */
export async function startBatchConsumer(
  consumer: Consumer,
  settings: ConnectionSettings,
  options: BatchConsumerOptions,
): Promise<BatchConsumer> {
  const source = new KafkaBatchConsumer(consumer, options, settings);
  try {
    await source.start();
  } catch (error) {
    await consumer.disconnect().catch(() => {});
    throw toBrokerError(error, settings);
  }
  return source;
}
