/**
 * Exactly-once: the commit step that writes a batch's predictions and dead
 * letters and commits its input offsets in one Kafka transaction
 * (begin → send outputs → sendOffsets(input offsets, group) → commit), so a
 * `read_committed` reader sees each input's output once, whatever crashes.
 *
 * Finished batches wait in per-partition lines, in the order they were read;
 * a transaction takes the finished prefix of each line (up to
 * `maxBatches`), so an offset is never committed past a batch whose output is
 * not in the same or an earlier transaction. One transaction runs at a time
 * (a producer has one); batches finishing meanwhile share the next one (group
 * commit), which is where the throughput comes from.
 *
 * On an error the transaction is aborted and, after a backoff, retried from
 * the last committed offsets: the producer is reopened under the same
 * transactional id (a fresh epoch and sequences; it also settles a commit
 * whose answer was lost), the group's committed offsets are read back, and
 * the batches still held in memory (what a seek to those offsets would read
 * again) are sent again unless the lost commit did in fact land. A fenced
 * producer (another member registered the same transactional id) stops at
 * once with {@link ProducerFencedError}: its open transaction is aborted by
 * the broker and its batches go to the new owner uncommitted.
 *
 * The input offsets are committed only by the transaction: batches handed out
 * through {@link ExactlyOnceStep.track} refuse `ack()`.
 *
 * @module
 */
// The kafkajs patches must be in place before kafkajs itself loads, whichever module imports it first.
import "./patches.ts";
import { CompressionTypes, type Transaction } from "kafkajs";
import { BrokerError, ChurnctlError, EXIT_FAILURE, oneLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { OutputRecord } from "../pipeline/records.ts";
import { withAdmin } from "./admin.ts";
import type { ConnectionSettings } from "./client.ts";
import {
  type BatchConsumer,
  type CommitPoint,
  type CommitStep,
  type ConsumedBatch,
  OutOfOrderAckError,
  toKafkaRecords,
} from "./consumer.ts";
import { causes, isBrokerAway, toBrokerError } from "./errors.ts";
import { groupByTopic, openProducer, type RecordWriter } from "./producer.ts";

/** Options of {@link openExactlyOnce}. */
export interface ExactlyOnceOptions {
  /** The producer's `transactional.id`: stable across restarts of the same member. */
  transactionalId: string;
  /** Consumer group whose offsets the transactions commit. */
  group: string;
  /** Most batches in one transaction. @default 8 */
  maxBatches?: number;
  /** How long a finished batch may wait for others to share its transaction; 0: as soon as possible. @default 0 */
  intervalMs?: number;
  /** Aborted transactions retried before giving up. @default 5 */
  retries?: number;
  /** First retry delay, doubled per retry (at most 5 s). @default 200 */
  retryBackoffMs?: number;
  /**
   * How long a transaction keeps retrying while the broker is unreachable or its coordinators are moving (a broker
   * restart), on top of `retries`. @default 60000
   */
  brokerRestartWindowMs?: number;
  /** gzip the output batches. @default true */
  gzip?: boolean;
  /** Where transaction events are logged. */
  logger?: Logger;
}

/** Counts of what the transactions did, for the closing log line and tests. */
export interface TransactionCounts {
  /** Transactions committed. */
  committed: number;
  /** Batches those transactions carried. */
  batches: number;
  /** Transactions aborted (each followed by a retry or a stop). */
  aborted: number;
}

/** Another member registered the same transactional id: this one is a zombie and must stop (exit 1). */
export class ProducerFencedError extends ChurnctlError {
  constructor(transactionalId: string, cause: unknown) {
    super(
      `fenced: another consumer registered transactional.id '${transactionalId}' (same --group and --instance-id); ` +
        `this one stops, its open transaction is aborted and its uncommitted batches go to the new owner (${
          oneLine(cause)
        })`,
      EXIT_FAILURE,
      { cause },
    );
    this.name = "ProducerFencedError";
  }
}

const FENCED_TYPES = new Set(["INVALID_PRODUCER_EPOCH", "PRODUCER_FENCED", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"]);
// PRODUCER_FENCED (90) is newer than kafkajs's error table, which reports it by code only.
const FENCED_CODES = new Set([47, 53, 90]);
const COORDINATOR_NOT_READY = new Set([
  "COORDINATOR_LOAD_IN_PROGRESS",
  "GROUP_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "GROUP_COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "NOT_COORDINATOR_FOR_GROUP",
  "CONCURRENT_TRANSACTIONS",
]);

const errorChain = (error: unknown) => causes(error) as { type?: unknown; code?: unknown }[];

/** True when the error says this producer's transactional id now belongs to someone else (or was never ours). */
export function isFenced(error: unknown): boolean {
  if (error instanceof ProducerFencedError) return true;
  return errorChain(error).some((item) =>
    (typeof item.type === "string" && FENCED_TYPES.has(item.type)) ||
    (typeof item.code === "number" && FENCED_CODES.has(item.code))
  );
}

function coordinatorNotReady(error: unknown): boolean {
  return errorChain(error).some((item) => typeof item.type === "string" && COORDINATOR_NOT_READY.has(item.type));
}

/**
 * True when the error is what a broker restart causes (connection errors, coordinators not available, not
 * coordinator, loading), also wrapped (KafkaJSNumberOfRetriesExceeded, a BrokerError's cause): worth retrying
 * for as long as a restart takes. A fenced producer never is.
 */
export function isBrokerRestart(error: unknown): boolean {
  if (isFenced(error)) return false;
  return coordinatorNotReady(error) || isBrokerAway(error);
}

/** Delay before the next try while the broker restarts: short, so the first try after it answers comes soon. */
const BROKER_RESTART_BACKOFF_MS = { first: 250, max: 2000 };

/**
 * The next transaction's first request is refused (CONCURRENT_TRANSACTIONS) until the broker has written the
 * previous one's markers, a few ms; kafkajs's usual 100 ms first retry added ~90 ms to about one transaction in
 * ten (measured). Start at 10 ms, with more retries so the whole window stays about as long (~10 s).
 */
const TRANSACTIONAL_RETRY = { initialRetryTimeMs: 10, retries: 12 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether and when a failed transaction is tried again: errors a broker restart causes for as long as
 * `brokerRestartWindowMs` from the first of them (a restart takes seconds; `retries` alone was spent in ~6 s),
 * other errors `retries` times. A fenced producer is never retried (callers stop on it first).
 */
export class RetryBudget {
  #retries: number;
  #backoffMs: number;
  #windowMs: number;
  #failures = 0;
  #restartTries = 0;
  #deadline: number | undefined;
  #startedAt: number | undefined;

  constructor(options: { retries: number; backoffMs: number; brokerRestartWindowMs: number }) {
    this.#retries = options.retries;
    this.#backoffMs = options.backoffMs;
    this.#windowMs = options.brokerRestartWindowMs;
  }

  /** The delay before the next try after `error`, or `undefined` when the budget is spent. */
  next(error: unknown, now = Date.now()): number | undefined {
    this.#startedAt ??= now;
    if (isFenced(error)) return undefined;
    if (isBrokerRestart(error)) {
      this.#deadline ??= now + this.#windowMs;
      const left = this.#deadline - now;
      if (left <= 0) return undefined;
      const delayMs = BROKER_RESTART_BACKOFF_MS.first * 2 ** Math.min(this.#restartTries++, 8);
      return Math.max(1, Math.min(delayMs, BROKER_RESTART_BACKOFF_MS.max, left));
    }
    if (this.#failures >= this.#retries) return undefined;
    return Math.min(this.#backoffMs * 2 ** this.#failures++, 5000);
  }

  /** What was spent, for log lines and the final error. */
  describe(now = Date.now()): string {
    const seconds = this.#startedAt === undefined ? 0 : (now - this.#startedAt) / 1000;
    return `${this.#failures} of ${this.#retries} retries, ${this.#restartTries} broker-restart retries over ${
      seconds.toFixed(1)
    } s`;
  }
}

interface Entry {
  /** The consumer's own batch (settles the offsets in kafkajs after the transaction). */
  inner: ConsumedBatch;
  /** The batch the caller holds. */
  outer: TrackedBatch;
  line: Entry[];
  records?: readonly OutputRecord[];
  count?: number;
  readyAt?: number;
  settle?: { resolve: () => void; reject: (error: unknown) => void };
  inTransaction?: boolean;
  /** Set when an earlier batch of the partition was released: this one must not commit. */
  doomed?: Error;
}

/** A consumed batch whose offsets only a transaction commits. */
class TrackedBatch implements ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: ConsumedBatch["messages"];
  readonly highWatermark: string;
  readonly fetchedAt: number;
  #inner: ConsumedBatch;
  #onRelease: () => void;

  constructor(inner: ConsumedBatch, onRelease: () => void) {
    this.topic = inner.topic;
    this.partition = inner.partition;
    this.messages = inner.messages;
    this.highWatermark = inner.highWatermark;
    this.fetchedAt = inner.fetchedAt;
    this.#inner = inner;
    this.#onRelease = onRelease;
  }

  commitPoint(count?: number): CommitPoint {
    return this.#inner.commitPoint(count);
  }

  ack(): Promise<void> {
    return Promise.reject(new Error("exactly-once: input offsets are committed by the transaction, not by ack()"));
  }

  markCommitted(count?: number): Promise<void> {
    return this.#inner.markCommitted(count);
  }

  release(): void {
    this.#onRelease();
    this.#inner.release();
  }
}

/**
 * The transactional {@link CommitStep}. Read batches through {@link track} so
 * their order per partition is known; close it after the consumer.
 */
export class ExactlyOnceStep implements CommitStep {
  /** Always exactly-once. */
  readonly guarantee = "exactly-once" as const;
  /** The producer's transactional id. */
  readonly transactionalId: string;
  #settings: ConnectionSettings;
  #group: string;
  #maxBatches: number;
  #intervalMs: number;
  #retries: number;
  #backoffMs: number;
  #restartWindowMs: number;
  #gzip: boolean;
  #log: Logger | undefined;
  #writer: RecordWriter;
  #entries = new Map<ConsumedBatch, Entry>();
  #lines = new Map<string, Entry[]>();
  #busy = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fatal: Error | undefined;
  #counts: TransactionCounts = { committed: 0, batches: 0, aborted: 0 };

  /** Use {@link openExactlyOnce}. */
  constructor(settings: ConnectionSettings, options: ExactlyOnceOptions, writer: RecordWriter) {
    this.#settings = settings;
    this.transactionalId = options.transactionalId;
    this.#group = options.group;
    this.#maxBatches = options.maxBatches ?? 8;
    this.#intervalMs = options.intervalMs ?? 0;
    this.#retries = options.retries ?? 5;
    this.#backoffMs = options.retryBackoffMs ?? 200;
    this.#restartWindowMs = options.brokerRestartWindowMs ?? 60000;
    this.#gzip = options.gzip ?? true;
    this.#log = options.logger;
    this.#writer = writer;
  }

  /** What the transactions did so far. */
  counts(): TransactionCounts {
    return { ...this.#counts };
  }

  /** Wraps the consumer so each batch read is registered in its partition's line, in read order. */
  track(source: BatchConsumer): BatchConsumer {
    return {
      read: async (options) => {
        const batch = await source.read(options);
        return batch && this.#register(batch);
      },
      pause: () => source.pause(),
      resume: () => source.resume(),
      state: () => source.state(),
      close: () => source.close(),
    };
  }

  /** Queues the batch's output for a transaction; resolves once that transaction committed. */
  complete(batch: ConsumedBatch, records: readonly OutputRecord[], count?: number): Promise<void> {
    const entry = this.#entries.get(batch);
    if (!entry) return Promise.reject(new Error("exactly-once: the batch was not read through track()"));
    const refusal = this.#fatal ?? entry.doomed;
    if (refusal) {
      this.#drop(entry);
      return Promise.reject(refusal);
    }
    entry.records = records;
    entry.count = count ?? batch.messages.length;
    entry.readyAt = Date.now();
    const promise = new Promise<void>((resolve, reject) => entry.settle = { resolve, reject });
    this.#schedule();
    return promise;
  }

  /** Registers the transactional id (fencing a zombie of this member and aborting its open transaction). */
  async init(): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        const transaction = await this.#writer.raw.transaction();
        // Nothing was added, so this ends the empty transaction locally without a request.
        await transaction.abort();
        return;
      } catch (error) {
        if (isFenced(error)) throw new ProducerFencedError(this.transactionalId, error);
        if (!coordinatorNotReady(error) || attempt >= 10) throw toBrokerError(error, this.#settings);
        this.#log?.debug(`transaction coordinator not ready: ${oneLine(error)}`);
        await sleep(Math.min(200 * 2 ** attempt, 2000));
        // The failed init may have left the state machine mid-way: start from a fresh producer.
        await this.#reopenProducer();
      }
    }
  }

  /** Stops the timer and closes the producer (call after every batch was settled). */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const { committed, batches, aborted } = this.#counts;
    this.#log?.info(`transactions: ${committed} committed (${batches} batches), ${aborted} aborted`, {
      transactional_id: this.transactionalId,
    });
    await this.#writer.close();
  }

  #register(inner: ConsumedBatch): ConsumedBatch {
    const key = `${inner.topic}:${inner.partition}`;
    let line = this.#lines.get(key);
    if (!line) this.#lines.set(key, line = []);
    const entry = { inner, line } as Entry;
    entry.outer = new TrackedBatch(inner, () => this.#released(entry));
    line.push(entry);
    this.#entries.set(entry.outer, entry);
    return entry.outer;
  }

  #drop(entry: Entry): void {
    this.#entries.delete(entry.outer);
    const index = entry.line.indexOf(entry);
    if (index >= 0) entry.line.splice(index, 1);
  }

  /** A released batch is delivered again: nothing after it in its partition may commit before it. */
  #released(entry: Entry): void {
    if (!this.#entries.has(entry.outer) || entry.inTransaction) return;
    const index = entry.line.indexOf(entry);
    const later = entry.line.slice(index + 1);
    this.#drop(entry);
    for (const next of later) {
      next.doomed ??= new OutOfOrderAckError(next.inner.topic, next.inner.partition);
      if (next.settle && !next.inTransaction) {
        this.#drop(next);
        next.settle.reject(next.doomed);
      }
    }
  }

  /** The finished prefix of each partition's line, at most `maxBatches` in all. */
  #eligible(): Entry[] {
    const chosen: Entry[] = [];
    for (const line of this.#lines.values()) {
      for (const entry of line) {
        if (chosen.length >= this.#maxBatches) return chosen;
        if (!entry.settle || entry.inTransaction) break;
        chosen.push(entry);
      }
    }
    return chosen;
  }

  #schedule(): void {
    if (this.#busy || this.#fatal) return;
    const ready = this.#eligible();
    if (ready.length === 0) return;
    const oldest = Math.min(...ready.map((entry) => entry.readyAt!));
    const waitMs = ready.length >= this.#maxBatches ? 0 : this.#intervalMs - (Date.now() - oldest);
    if (waitMs > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#schedule();
      }, waitMs);
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#busy = true;
    for (const entry of ready) entry.inTransaction = true;
    this.#flush(ready).finally(() => {
      this.#busy = false;
      this.#schedule();
    });
  }

  async #flush(entries: Entry[]): Promise<void> {
    try {
      await this.#transact(entries);
    } catch (error) {
      const failure = error instanceof ChurnctlError ? error : toBrokerError(error, this.#settings);
      this.#fatal = failure;
      // Nothing may commit after a failed transaction: every finished batch is refused, later ones on arrival.
      for (const entry of [...this.#entries.values()]) {
        if (!entry.settle) continue;
        this.#drop(entry);
        entry.settle.reject(failure);
      }
      return;
    }
    this.#counts.committed++;
    this.#counts.batches += entries.length;
    for (const entry of entries) {
      this.#drop(entry);
      try {
        // Moves the consumer's position on; the offsets themselves were committed by the transaction.
        await entry.inner.markCommitted(entry.count);
        entry.settle!.resolve();
      } catch (error) {
        entry.settle!.reject(error);
      }
    }
  }

  /** Offsets to commit: the last commit point of each partition (entries are in line order). */
  #offsetsOf(entries: Entry[]): { topic: string; partitions: { partition: number; offset: string }[] }[] {
    const byTopic = new Map<string, Map<number, string>>();
    for (const entry of entries) {
      const point = entry.inner.commitPoint(entry.count);
      let partitions = byTopic.get(point.topic);
      if (!partitions) byTopic.set(point.topic, partitions = new Map());
      partitions.set(point.partition, point.offset);
    }
    return [...byTopic].map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })),
    }));
  }

  async #transact(entries: Entry[]): Promise<void> {
    const topicMessages = groupByTopic(toKafkaRecords(entries.flatMap((entry) => entry.records ?? [])));
    const topics = this.#offsetsOf(entries);
    const compression = this.#gzip ? CompressionTypes.GZIP : CompressionTypes.None;
    const budget = new RetryBudget({
      retries: this.#retries,
      backoffMs: this.#backoffMs,
      brokerRestartWindowMs: this.#restartWindowMs,
    });
    for (let attempt = 0;; attempt++) {
      let transaction: Transaction | undefined;
      try {
        const started = performance.now();
        transaction = await this.#writer.raw.transaction();
        if (topicMessages.length > 0) await transaction.sendBatch({ topicMessages, acks: -1, compression });
        const sent = performance.now();
        await transaction.sendOffsets({ consumerGroupId: this.#group, topics });
        const offsetsAdded = performance.now();
        await transaction.commit();
        this.#log?.debug(`transaction committed`, {
          batches: entries.length,
          send_ms: Math.round(sent - started),
          offsets_ms: Math.round(offsetsAdded - sent),
          commit_ms: Math.round(performance.now() - offsetsAdded),
        });
        return;
      } catch (error) {
        const restart = isBrokerRestart(error);
        // After a broker-restart error the abort would only wait out kafkajs's retries against a broker that is
        // away; re-registering the transactional id (below) aborts the open transaction at the coordinator anyway.
        if (transaction?.isActive() && !restart) {
          await transaction.abort().catch((abortError) => this.#log?.debug(`abort: ${oneLine(abortError)}`));
        }
        if (isFenced(error)) throw new ProducerFencedError(this.transactionalId, error);
        this.#counts.aborted++;
        const delayMs = budget.next(error);
        if (delayMs === undefined) throw this.#givenUp(entries.length, budget, error);
        this.#log?.warn(
          `transaction of ${entries.length} batch(es) aborted (attempt ${attempt + 1}, ${budget.describe()}): ${
            oneLine(error)
          }; retrying from the last committed offsets in ${delayMs} ms`,
        );
        if (await this.#recover(entries.length, topics, budget, delayMs)) {
          this.#log?.info(`the transaction's commit had landed (its answer was lost): not sending it again`);
          return;
        }
      }
    }
  }

  /**
   * After an abort: backs off, reopens the producer under the same transactional id (which settles the open
   * transaction either way) and reads the group's committed offsets, again while the broker is away and the
   * budget lasts. True when the transaction's commit had landed, so its batches must not be sent again.
   */
  async #recover(
    batches: number,
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[],
    budget: RetryBudget,
    firstDelayMs: number,
  ): Promise<boolean> {
    let delayMs = firstDelayMs;
    for (;;) {
      await sleep(delayMs);
      try {
        await this.#reopen();
        return await this.#landed(topics);
      } catch (error) {
        if (error instanceof ProducerFencedError) throw error;
        if (isFenced(error)) throw new ProducerFencedError(this.transactionalId, error);
        const next = budget.next(error);
        if (next === undefined) throw this.#givenUp(batches, budget, error);
        this.#log?.warn(
          `exactly-once: cannot resume the transaction yet (${budget.describe()}): ${oneLine(error)}; ` +
            `trying again in ${next} ms`,
        );
        delayMs = next;
      }
    }
  }

  #givenUp(batches: number, budget: RetryBudget, error: unknown): BrokerError {
    return new BrokerError(
      `exactly-once: a transaction of ${batches} batch(es) failed and was aborted after ${budget.describe()} ` +
        `(nothing of it committed): ${oneLine(toBrokerError(error, this.#settings))}`,
      { cause: error },
    );
  }

  /** Reopens the producer under the same id, retrying while the coordinator is not ready. */
  async #reopen(): Promise<void> {
    await this.#reopenProducer();
    await this.init();
  }

  async #reopenProducer(): Promise<void> {
    await this.#writer.close();
    this.#writer = await openProducer(this.#settings, {
      transactionalId: this.transactionalId,
      gzip: this.#gzip,
      logger: this.#log,
      ...TRANSACTIONAL_RETRY,
    });
  }

  /** True when the group's committed offsets already cover every offset of `topics`. */
  async #landed(topics: { topic: string; partitions: { partition: number; offset: string }[] }[]): Promise<boolean> {
    const committed = await withAdmin(this.#settings, async (admin) => {
      const found = new Map<string, bigint>();
      const answer = await admin.fetchOffsets({ groupId: this.#group, topics: topics.map((item) => item.topic) });
      for (const { topic, partitions } of answer) {
        for (const { partition, offset } of partitions) found.set(`${topic}:${partition}`, BigInt(offset));
      }
      return found;
    });
    return topics.every(({ topic, partitions }) =>
      partitions.every(({ partition, offset }) => (committed.get(`${topic}:${partition}`) ?? -1n) >= BigInt(offset))
    );
  }
}

/**
 * Opens a transactional producer under `options.transactionalId` and
 * registers it, so a zombie of this member is fenced and its open
 * transaction aborted before the consumer joins the group.
 */
export async function openExactlyOnce(
  settings: ConnectionSettings,
  options: ExactlyOnceOptions,
): Promise<ExactlyOnceStep> {
  const writer = await openProducer(settings, {
    transactionalId: options.transactionalId,
    gzip: options.gzip,
    logger: options.logger,
    ...TRANSACTIONAL_RETRY,
  });
  const step = new ExactlyOnceStep(settings, options, writer);
  try {
    await step.init();
  } catch (error) {
    await step.close().catch(() => {});
    throw error;
  }
  options.logger?.info(`exactly-once: registered transactional.id ${options.transactionalId}`);
  return step;
}
