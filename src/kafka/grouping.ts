/**
 * kafkajs 2.2.4 groups a `sendBatch`'s messages by partition with
 * `[...current, message]` for every message: quadratic in the messages per
 * partition (2,000 predictions on 3 partitions copy ~670,000 array slots).
 * In a CPU profile of `consume` it was the largest kafkajs cost (~9 % self,
 * plus the garbage). This puts a linear version with the same result — the
 * partitioner called once per message in input order, each partition's
 * messages in input order — into the module cache before kafkajs's
 * `sendMessages.js` requires it; that module keeps the function it got at
 * load, so this file must be evaluated before kafkajs itself is (`patches.ts`
 * is the first import of every module that loads kafkajs; `GROUPING_PATCHED`
 * says whether that worked, and tests/kafka/grouping_test.ts checks it).
 *
 * @module
 */
import { createRequire } from "node:module";

/** What kafkajs passes to its grouping function. */
export interface GroupingInput<M> {
  /** Topic of the messages. */
  topic: string;
  /** kafkajs partition metadata of the topic. */
  partitionMetadata: readonly unknown[];
  /** Messages of one `topicMessages` entry. */
  messages: readonly M[];
  /** Picks the partition of one message (kafkajs's partitioner; may keep state, e.g. round robin). */
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/** Messages by partition, as kafkajs's `sendMessages` expects them. */
export type Grouped<M> = Record<number, M[]>;

/** Linear grouping with kafkajs's exact result: same keys, same messages, same order, same partitioner calls. */
export function groupMessagesPerPartition<M>(
  { topic, partitionMetadata, messages, partitioner }: GroupingInput<M>,
): Grouped<M> {
  const result: Grouped<M> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition];
    if (current === undefined) result[partition] = [message];
    else current.push(message);
  }
  return result;
}

const require = createRequire(import.meta.url);
const groupingPath = require.resolve("kafkajs/src/producer/groupMessagesPerPartition.js");
const sendMessagesPath = require.resolve("kafkajs/src/producer/sendMessages.js");

/** kafkajs's own grouping function, kept for the equivalence test. */
export const originalGroupMessagesPerPartition: <M>(input: GroupingInput<M>) => Grouped<M> = require(groupingPath);

/** True when kafkajs's producer will use {@link groupMessagesPerPartition} (it was not loaded before this module). */
export const GROUPING_PATCHED: boolean = !(sendMessagesPath in require.cache);

require.cache[groupingPath]!.exports = groupMessagesPerPartition;
