/**
 * One batch through the pipeline: decode and validate every message, score
 * the valid events with one model call, and encode predictions and dead
 * letters. Plain values in and out; the caller writes the records and only
 * then acknowledges the batch.
 *
 * @module
 */
import type { CustomerEvent } from "../schema/customer.ts";
import { type DecodeOptions, EventDecoder } from "./decode.ts";
import { type DeadLetterCause, encodeDeadLetter, encodePrediction } from "./encode.ts";
import type { InputBatch, InputMessage, OutputRecord, OutputTopics } from "./records.ts";
import { scoreBatch, type Scorer } from "./score.ts";

/** What a processed batch amounts to, for statistics and metrics. */
export interface BatchOutcome {
  /** Source topic. */
  topic: string;
  /** Source partition. */
  partition: number;
  /** Offset of the first message. */
  firstOffset: string;
  /** Offset of the last message. */
  lastOffset: string;
  /** Messages in the batch. */
  size: number;
  /** Predictions written. */
  predicted: number;
  /** Predictions that said `Yes`. */
  churned: number;
  /** P(churn) of each prediction. */
  probabilities: Float64Array;
  /** Dead letters by reason code. */
  deadLetters: Map<string, number>;
  /** Model time of the batch, in ms. */
  inferenceMs: number;
  /** Decode + validate + score + encode time, in ms. */
  processMs: number;
  /** Broker timestamps of the messages, ms since the epoch (for end-to-end latency once written). */
  timestamps: Float64Array;
}

/** A processed batch: what to write, and what it amounted to. */
export interface ProcessedBatch {
  /** Predictions then dead letters, each in input order. */
  records: OutputRecord[];
  /** Counts and timings. */
  outcome: BatchOutcome;
}

/** Options of {@link BatchProcessor}. */
export interface ProcessorOptions extends DecodeOptions {
  /** The model. */
  scorer: Scorer;
  /** Output topics. */
  topics: OutputTopics;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * Turns input batches into output records.
 *
 * @example
 * ```ts
 * const processor = new BatchProcessor({ scorer, topics: { predictions: "p", deadletter: "d" } });
 * const { records, outcome } = await processor.process(batch);
 * ```
 */
export class BatchProcessor {
  #decoder: EventDecoder;
  #scorer: Scorer;
  #topics: OutputTopics;
  #now: () => number;

  constructor(options: ProcessorOptions) {
    this.#decoder = new EventDecoder(options);
    this.#scorer = options.scorer;
    this.#topics = options.topics;
    this.#now = options.now ?? Date.now;
  }

  /** Processes `batch`; rejects only when the model itself is broken (never for a bad message). */
  async process(batch: InputBatch): Promise<ProcessedBatch> {
    const started = performance.now();
    const { topic, partition, messages } = batch;
    const events: CustomerEvent[] = [];
    const eventMessages: InputMessage[] = [];
    const failures: { message: InputMessage; cause: DeadLetterCause }[] = [];
    const timestamps = new Float64Array(messages.length);
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index];
      timestamps[index] = Number(message.timestamp);
      const decoded = this.#decoder.decode(message.value);
      if (decoded.ok) {
        events.push(decoded.event);
        eventMessages.push(message);
      } else {
        failures.push({ message, cause: decoded });
      }
    }
    const scores = await scoreBatch(this.#scorer, events);
    const processedTs = new Date(this.#now()).toISOString();
    const context = {
      topic,
      partition,
      processedTs,
      inferenceLatencyMs: events.length > 0 ? Math.round((scores.inferenceMs / events.length) * 1000) / 1000 : 0,
      batchSize: events.length,
    };
    const records: OutputRecord[] = [];
    const probabilities = new Float64Array(events.length);
    let predicted = 0;
    let churned = 0;
    for (let index = 0; index < events.length; index++) {
      const result = scores.results[index];
      if (result.ok) {
        records.push(encodePrediction(this.#topics.predictions, events[index], result, eventMessages[index], context));
        probabilities[predicted++] = result.churn_probability;
        if (result.prediction === "Yes") churned++;
      } else {
        failures.push({
          message: eventMessages[index],
          cause: { reason: result.reason, message: result.message, eventId: events[index].event_id },
        });
      }
    }
    const deadLetters = new Map<string, number>();
    for (const failure of failures) {
      records.push(encodeDeadLetter(this.#topics.deadletter, failure.message, failure.cause, context));
      deadLetters.set(failure.cause.reason, (deadLetters.get(failure.cause.reason) ?? 0) + 1);
    }
    return {
      records,
      outcome: {
        topic,
        partition,
        firstOffset: messages[0]?.offset ?? "-1",
        lastOffset: messages[messages.length - 1]?.offset ?? "-1",
        size: messages.length,
        predicted,
        churned,
        probabilities: probabilities.subarray(0, predicted),
        deadLetters,
        inferenceMs: scores.inferenceMs,
        processMs: performance.now() - started,
        timestamps,
      },
    };
  }
}
