import assert from "node:assert/strict";
import fc from "fast-check";
import {
  GROUPING_PATCHED,
  type GroupingInput,
  groupMessagesPerPartition,
  originalGroupMessagesPerPartition,
} from "../../src/kafka/grouping.ts";

const metadata = (count: number) => Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0 }));

/** A stateful partitioner like kafkajs's default (round robin without a key), deterministic so two runs compare. */
function partitionerWithLog() {
  let counter = 0;
  const calls: unknown[] = [];
  return {
    calls,
    partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: { key: string | null } }) => {
      calls.push(args.message);
      const count = args.partitionMetadata.length;
      const key = args.message.key;
      if (key === null) return counter++ % count;
      let hash = 0;
      for (let index = 0; index < key.length; index++) hash = (hash * 31 + key.charCodeAt(index)) >>> 0;
      return hash % count;
    },
  };
}

Deno.test("groupMessagesPerPartition", async (t) => {
  await t.step("groupMessagesPerPartition gives kafkajs's result, keys, order and partitioner calls", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ maxLength: 12 }), { nil: null }), { maxLength: 400 }),
        fc.integer({ min: 0, max: 7 }),
        (keys, partitions) => {
          const messages = keys.map((key, index) => ({ key, value: `v${index}` }));
          const ours = partitionerWithLog();
          const theirs = partitionerWithLog();
          const input = (log: ReturnType<typeof partitionerWithLog>): GroupingInput<typeof messages[number]> => ({
            topic: "t",
            partitionMetadata: metadata(partitions),
            messages,
            partitioner: log.partitioner,
          });
          const expected = originalGroupMessagesPerPartition(input(theirs));
          const actual = groupMessagesPerPartition(input(ours));
          assert.deepEqual(Object.keys(actual), Object.keys(expected));
          assert.deepEqual(actual, expected);
          assert.deepEqual(ours.calls, theirs.calls);
        },
      ),
      { numRuns: 200 },
    );
  });

  await t.step("groupMessagesPerPartition is linear: 60,000 messages on one partition in well under a second", () => {
    const messages = Array.from({ length: 60000 }, (_, index) => ({ key: String(index) }));
    const started = performance.now();
    const grouped = groupMessagesPerPartition({
      topic: "t",
      partitionMetadata: metadata(1),
      messages,
      partitioner: () => 0,
    });
    assert.equal(grouped[0].length, 60000);
    assert.ok(performance.now() - started < 500, `took ${performance.now() - started} ms`);
  });

  await t.step("groupMessagesPerPartition is what kafkajs's producer uses when loaded through src/kafka", () => {
    assert.equal(GROUPING_PATCHED, true);
  });
});

Deno.test("kafkajs patches apply in the CLI's module order", async (t) => {
  await t.step("kafkajs patches are in effect after loading every command as main.ts does", async () => {
    const root = new URL("../../", import.meta.url).pathname;
    const code = [
      ...["setup", "produce", "consume", "summary", "health", "schedule"].map((name) =>
        `import "./src/commands/${name}.ts";`
      ),
      `import { GROUPING_PATCHED } from "./src/kafka/grouping.ts";`,
      `import { RECORD_PATCHED } from "./src/kafka/record_encoder.ts";`,
      `import { MURMUR2_PATCHED } from "./src/kafka/murmur2.ts";`,
      `console.log(JSON.stringify({ GROUPING_PATCHED, RECORD_PATCHED, MURMUR2_PATCHED }));`,
    ].join("\n");
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), {
      GROUPING_PATCHED: true,
      RECORD_PATCHED: true,
      MURMUR2_PATCHED: true,
    });
  });
});
