import assert from "node:assert/strict";
import { ensureTopics, withAdmin } from "../../src/kafka/admin.ts";
import { openProducer, type OutgoingRecord } from "../../src/kafka/producer.ts";
import { percentiles } from "../../src/report/summary.ts";
import { RUN_REPORT_SCHEMA } from "../../src/report/run_report.ts";
import { appendRun } from "../../src/schedule/history.ts";
import { runCli, testConnection, topicEnv, uniqueTopics } from "../support.ts";

/** A known set: 20 predictions (every 3rd is Yes) and 3 dead letters, with source positions 0..19 / 20..22. */
function knownSet(topics: ReturnType<typeof uniqueTopics>) {
  const now = Date.now();
  const predictions = Array.from({ length: 20 }, (_, index) => ({
    customerID: `C-${String(index).padStart(3, "0")}`,
    event_id: `e-${index}`,
    churn_probability: (index * 5 + 2) / 100,
    prediction: index % 3 === 0 ? "Yes" : "No",
    confidence_score: 0.5,
    model_version: "sha256:test00000000",
    event_ts: new Date(now - 1000).toISOString(),
    processed_ts: new Date(now).toISOString(),
    inference_latency_ms: index / 10,
    batch_size: 20,
  }));
  const records: OutgoingRecord[] = predictions.map((value, index) => ({
    topic: topics.output,
    key: value.customerID,
    value: JSON.stringify(value),
    partition: 0,
    headers: { "source-topic": topics.input, "source-partition": "0", "source-offset": String(index) },
  }));
  const reasons = ["invalid_json", "missing_field", "invalid_json"];
  reasons.forEach((reason, index) =>
    records.push({
      topic: topics.deadletter,
      key: null,
      value: "{broken",
      headers: {
        "dlq-reason": reason,
        "dlq-message": "test",
        "dlq-source-topic": topics.input,
        "dlq-source-partition": "0",
        "dlq-source-offset": String(20 + index),
        "dlq-source-timestamp": String(now),
        "dlq-failed-ts": new Date(now).toISOString(),
      },
    })
  );
  return {
    predictions,
    records,
    reasons,
    startedAt: new Date(now - 2000).toISOString(),
    endedAt: new Date(now + 2000).toISOString(),
  };
}

Deno.test("summary command", async (t) => {
  const topics = uniqueTopics("summary");
  const env = topicEnv(topics);
  const dir = await Deno.makeTempDir();
  await withAdmin(testConnection, (admin) =>
    ensureTopics(admin, [
      { topic: topics.input, partitions: 1 },
      { topic: topics.output, partitions: 2 },
      { topic: topics.deadletter, partitions: 1 },
    ]));
  const known = knownSet(topics);
  const writer = await openProducer(testConnection);
  await writer.send(known.records);
  await writer.close();

  await t.step("summary command numbers equal those of the known set", async () => {
    const result = await runCli(["summary", "--since", "10m", "--format", "json", "--top", "3"], { env });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.messages, 23);
    assert.equal(summary.predictions, 20);
    assert.equal(summary.dead_letters, 3);
    assert.equal(summary.customers, 20);
    assert.equal(summary.duplicate_events, 0);
    const yes = known.predictions.filter((item) => item.prediction === "Yes").length;
    assert.deepEqual(summary.churn, { yes, no: 20 - yes, rate: yes / 20 });
    assert.deepEqual(summary.probability.histogram.map((bin: { count: number }) => bin.count), [
      2,
      2,
      2,
      2,
      2,
      2,
      2,
      2,
      2,
      2,
    ]);
    assert.deepEqual(summary.top.map((item: { customerID: string }) => item.customerID), ["C-019", "C-018", "C-017"]);
    assert.deepEqual(
      summary.latency_ms.inference,
      percentiles(known.predictions.map((item) => item.inference_latency_ms)),
    );
    assert.deepEqual(summary.dead_letter_reasons, [{ reason: "invalid_json", count: 2 }, {
      reason: "missing_field",
      count: 1,
    }]);
    assert.deepEqual(summary.model_versions, ["sha256:test00000000"]);
    assert.equal(summary.lag.topic, topics.input);
    assert.ok(summary.latency_ms.end_to_end.p50 >= 900, "event time 1 s before the broker timestamp");
  });

  await t.step("summary command writes every format to --out", async () => {
    const expected: Record<string, RegExp> = {
      table: /^churnctl summary — topics .*\nwindow .*\nmessages\s+23\n/,
      json: /"schema": "churnctl\/summary@1"/,
      md: /^# Churn prediction summary[\s\S]*\| messages \| 23 \|/,
      html:
        /^<!doctype html>[\s\S]*<svg id="chart-histogram"[\s\S]*<svg id="chart-timeline"[\s\S]*<svg id="chart-deadletters"/,
    };
    for (const [format, pattern] of Object.entries(expected)) {
      const out = `${dir}/summary.${format}`;
      const result = await runCli(["summary", "--since", "10m", "--format", format, "--out", out], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "", "nothing on stdout with --out");
      assert.match(await Deno.readTextFile(out), pattern, format);
    }
  });

  await t.step("summary command of a run report keeps only that run's records", async () => {
    const report = {
      schema: RUN_REPORT_SCHEMA,
      mode: "batch",
      guarantee: "at-least-once",
      stopped_by: "idle_timeout",
      model_version: "sha256:test00000000",
      group: topics.group,
      topics: { input: topics.input, predictions: topics.output, deadletter: topics.deadletter },
      started_at: known.startedAt,
      ended_at: known.endedAt,
      duration_sec: 4,
      consumed: 10,
      predicted: 10,
      dead_lettered: 0,
      batches: 1,
      churn_rate: 0.4,
      mean_churn_probability: 0.245,
      probability_histogram: { bin_width: 0.1, bins: [2, 2, 2, 2, 2, 0, 0, 0, 0, 0] },
      dead_letter_reasons: {},
      messages_per_sec: 2.75,
      busy_sec: 4,
      model_sec: 0.01,
      latency_ms: {
        end_to_end: { count: 11, p50: 5, p95: 6, p99: 7, max: 8, mean: 5 },
        inference: { count: 10, p50: 0.4, p95: 0.9, p99: 0.9, max: 0.9, mean: 0.45 },
        batch: { count: 1, p50: 9, p95: 9, p99: 9, max: 9, mean: 9 },
      },
      // The run covered input offsets 0..9: predictions C-000..C-009; the other 10 and the dead letters are not its.
      partitions: [{ topic: topics.input, partition: 0, first_offset: 0, last_offset: 9, messages: 10 }],
    };
    const path = `${dir}/consume-report.json`;
    await Deno.writeTextFile(path, JSON.stringify(report));
    const result = await runCli(["summary", "--report", path, "--json", "--top", "2"], { env });
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.source.kind, "report");
    assert.equal(summary.predictions, 10);
    assert.equal(summary.dead_letters, 0);
    assert.deepEqual(summary.top.map((item: { customerID: string }) => item.customerID), ["C-009", "C-008"]);
    assert.equal(summary.window.first, known.startedAt);

    // A report whose figures do not match the topics falls back to its own figures.
    await Deno.writeTextFile(path, JSON.stringify({ ...report, predicted: 11 }));
    const fallback = JSON.parse((await runCli(["summary", "--report", path, "--json"], { env })).stdout);
    assert.equal(fallback.predictions, 11);
    assert.deepEqual(fallback.top, []);
  });

  await t.step("summary command lists the run history", async () => {
    const stateDir = `${dir}/state`;
    await appendRun(stateDir, {
      job: "batch-pipeline",
      run_id: "r1",
      trigger: "cron",
      start: "2025-10-11T03:00:00.000Z",
      end: "2025-10-11T03:00:05.000Z",
      duration_ms: 5000,
      status: "ok",
      counts: { produced: 1000 },
      report: "reports/batch-x.html",
      error: null,
    });
    const table = await runCli(["summary", "--runs"], { env: { ...env, CHURNCTL_STATE_DIR: stateDir } });
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /2025-10-11 03:00:00\s+batch-pipeline\s+cron\s+ok\s+5\.0 s\s+produced=1000\s+reports\/batch-x\.html/,
    );
    const json = await runCli(["summary", "--runs", "--json"], { env: { ...env, CHURNCTL_STATE_DIR: stateDir } });
    assert.equal(JSON.parse(json.stdout).runs[0].run_id, "r1");
  });

  await t.step("summary command refuses a bad window in one line", async () => {
    const result = await runCli(["summary", "--since", "yesterday"], { env });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: --since: expected an ISO time .* got 'yesterday'\n$/);
  });

  await Deno.remove(dir, { recursive: true });
});
