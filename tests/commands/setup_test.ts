import assert from "node:assert/strict";
import { ensureTopics, withAdmin } from "../../src/kafka/admin.ts";
import { runCli, testConnection, topicEnv, uniqueTopics } from "../support.ts";

Deno.test("setup against the local broker", async (t) => {
  const topics = uniqueTopics("setup");
  const env = topicEnv(topics);
  await t.step("setup creates the three topics with 3, 3 and 1 partitions", async () => {
    const result = await runCli(["setup", "--json"], { env });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.topics.map((item: { topic: string; status: string; partitions: number }) => [
        item.topic,
        item.status,
        item.partitions,
      ]),
      [[topics.input, "created", 3], [topics.output, "created", 3], [topics.deadletter, "created", 1]],
    );
  });
  await t.step("setup is idempotent: a second run finds them", async () => {
    const result = await runCli(["setup"], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`${topics.input.replaceAll(".", "\\.")}: exists with 3 partitions`));
    assert.doesNotMatch(result.stdout, /created/);
  });
  await t.step("setup reports a topic with fewer partitions than configured and exits 1", async () => {
    const small = uniqueTopics("setup-small");
    await withAdmin(testConnection, (admin) => ensureTopics(admin, [{ topic: small.input, partitions: 1 }]));
    const result = await runCli(["setup", "--json"], { env: topicEnv(small) });
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.topics[0].status, "too_few_partitions");
    assert.equal(report.topics[0].partitions, 1);
    assert.equal(report.topics[0].wanted, 3);
  });
  await t.step("setup against a dead address fails in one line with exit 1", async () => {
    const result = await runCli(["setup", "--connect-timeout-ms", "1000"], {
      env: { CHURNCTL_BROKERS: "127.0.0.1:1" },
    });
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /^error: no broker at 127\.0\.0\.1:1: connection refused/);
  });
});
