/**
 * The bad-input fuzz against the real broker and the real consumer process:
 * a generated mix of every bad kind (scripts/soak/bad_messages.ts) and valid
 * events is produced to fresh topics, `churnctl consume --mode streaming`
 * scores it, and the topics are read back. Every bad message is in the
 * dead-letter topic with its expected reason and its original key and bytes,
 * every valid one is predicted, the consumer never exits on its own, and the
 * group's lag reaches 0 (no stalled partition). Restarts nothing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { ensureTopics, groupLag, withAdmin } from "../../src/kafka/admin.ts";
import { openProducer, type OutgoingRecord } from "../../src/kafka/producer.ts";
import { readTopic } from "../../src/kafka/reader.ts";
import { BAD_KINDS, type FuzzMessage, mixedMessageArb } from "../../scripts/soak/bad_messages.ts";
import { spawnCli, testConnection, topicEnv, uniqueTopics } from "../support.ts";

const SEED = Number(Deno.env.get("CHURNCTL_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const INDEX_HEADER = "fuzz-index";

Deno.test("consume fuzz", async (t) => {
  const topics = uniqueTopics("fuzz");
  await withAdmin(testConnection, (admin) =>
    ensureTopics(admin, [
      { topic: topics.input, partitions: 3 },
      { topic: topics.output, partitions: 3 },
      { topic: topics.deadletter, partitions: 1 },
    ]));
  // Every bad kind three times, plus a random mix (mostly valid): the seed is printed so a failure can be replayed.
  const generated: FuzzMessage[] = [
    ...BAD_KINDS.flatMap((kind, index) => fc.sample(kind.arbitrary, { seed: SEED + index, numRuns: 3 })),
    ...fc.sample(mixedMessageArb(), { seed: SEED, numRuns: 400 }),
  ];
  console.error(`consume fuzz: ${generated.length} messages, seed ${SEED} (CHURNCTL_FUZZ_SEED to replay)`);
  const writer = await openProducer(testConnection);
  try {
    const records: OutgoingRecord[] = generated.map((message, index) => ({
      topic: topics.input,
      key: message.key,
      value: message.value === null ? null : Buffer.from(message.value),
      headers: { [INDEX_HEADER]: String(index) },
    }));
    for (let start = 0; start < records.length; start += 100) await writer.send(records.slice(start, start + 100));
  } finally {
    await writer.close();
  }

  const consumer = spawnCli(["consume", "--mode", "streaming", "--progress-interval-ms", "1000"], topicEnv(topics));
  let exitedEarly: Deno.CommandStatus | undefined;
  consumer.status.then((status) => exitedEarly = status);
  const stderr = new Response(consumer.stderr).text();
  const stdout = new Response(consumer.stdout).text();
  let drained = false;
  try {
    for (const deadline = Date.now() + 90_000; Date.now() < deadline && !exitedEarly;) {
      const lag = await withAdmin(testConnection, (admin) => groupLag(admin, topics.group, topics.input));
      if (lag.totalLag === 0 && lag.partitions.every((item) => item.committed >= 0)) {
        drained = true;
        break;
      }
      await new Promise((done) => setTimeout(done, 500));
    }
  } finally {
    if (!exitedEarly) consumer.kill("SIGTERM");
  }
  const status = await consumer.status;
  const log = await stderr;
  await stdout;

  await t.step("consume fuzz never crashes the consumer", () => {
    assert.equal(exitedEarly === undefined || drained, true, `consumer exited on its own: ${log.slice(-2000)}`);
    assert.equal(status.code, 0, log.slice(-2000));
  });
  await t.step("consume fuzz never stalls a partition (lag reaches 0)", () => {
    assert.ok(drained, `lag never reached 0: ${log.slice(-2000)}`);
  });

  const [inputs, predictions, deadLetters] = await Promise.all([
    readTopic(testConnection, topics.input),
    readTopic(testConnection, topics.output),
    readTopic(testConnection, topics.deadletter),
  ]);
  const inputByPlace = new Map(inputs.map((message) => [`${message.partition}:${message.offset}`, message]));
  const outcome = new Map<number, { predicted: number; reasons: string[]; intact: boolean }>();
  const entry = (index: number) => {
    let item = outcome.get(index);
    if (!item) outcome.set(index, item = { predicted: 0, reasons: [], intact: true });
    return item;
  };
  for (const prediction of predictions) {
    const input = inputByPlace.get(`${prediction.headers["source-partition"]}:${prediction.headers["source-offset"]}`);
    assert.ok(input, "a prediction of an unknown input");
    entry(Number(input.headers[INDEX_HEADER])).predicted++;
  }
  for (const dead of deadLetters) {
    const index = Number(dead.headers[INDEX_HEADER]);
    const input = inputByPlace.get(`${dead.headers["dlq-source-partition"]}:${dead.headers["dlq-source-offset"]}`);
    assert.ok(input, "a dead letter of an unknown input");
    const item = entry(index);
    item.reasons.push(dead.headers["dlq-reason"]);
    const original = generated[index];
    const sameValue = original.value === null
      ? dead.value === null
      : dead.value !== null && Buffer.from(dead.value).equals(Buffer.from(original.value));
    if (!sameValue || dead.key !== original.key) item.intact = false;
  }

  await t.step("consume fuzz predicts every valid message", () => {
    const wrong = generated.flatMap((message, index) =>
      message.expect === "predicted" && (outcome.get(index)?.predicted ?? 0) < 1 ? [`${index} ${message.kind}`] : []
    );
    assert.deepEqual(wrong, []);
  });
  await t.step("consume fuzz dead-letters every bad message with its reason and original bytes", () => {
    const wrong: string[] = [];
    for (const [index, message] of generated.entries()) {
      if (message.expect === "predicted") continue;
      const item = outcome.get(index);
      if (!item || item.reasons.length === 0) wrong.push(`${index} ${message.kind}: no dead letter`);
      else if (item.predicted > 0) wrong.push(`${index} ${message.kind}: also predicted`);
      else if (item.reasons.some((reason) => reason !== message.expect)) {
        wrong.push(`${index} ${message.kind}: ${item.reasons.join(",")} instead of ${message.expect}`);
      } else if (!item.intact) wrong.push(`${index} ${message.kind}: key or bytes changed`);
    }
    assert.deepEqual(wrong, []);
  });
});
