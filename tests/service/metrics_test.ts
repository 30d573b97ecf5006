import assert from "node:assert/strict";
import type { BatchOutcome } from "../../src/pipeline/process.ts";
import { ServiceMetrics } from "../../src/service/metrics.ts";
import { histogramOf, parseExposition, valueOf } from "./exposition.ts";

const quiet = { processMetrics: false };

async function scrape(metrics: ServiceMetrics) {
  return parseExposition(await metrics.render());
}

Deno.test("ServiceMetrics", async (t) => {
  await t.step("metrics counts messages, predictions, churn, batches and dead letters by reason", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    metrics.recordBatch({
      consumed: 5,
      predicted: 3,
      churned: 1,
      deadLetters: { invalid_json: 1, schema_violation: 1 },
      inferenceMs: 2,
      endToEndMs: [10, 20, 30],
    });
    metrics.recordBatch({
      consumed: 2,
      predicted: 1,
      churned: 1,
      deadLetters: new Map([["invalid_json", 1], ["tombstone", 0]]),
      inferenceMs: 1,
      endToEndMs: [5],
    });
    const families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_messages_consumed_total"), 7);
    assert.equal(valueOf(families, "churnctl_predictions_total"), 4);
    assert.equal(valueOf(families, "churnctl_predicted_churn_total"), 2);
    assert.equal(valueOf(families, "churnctl_batches_total"), 2);
    assert.equal(valueOf(families, "churnctl_dead_letters_total", { reason: "invalid_json" }), 2);
    assert.equal(valueOf(families, "churnctl_dead_letters_total", { reason: "schema_violation" }), 1);
    assert.equal(valueOf(families, "churnctl_dead_letters_total", { reason: "tombstone" }), undefined);
    assert.equal(families.get("churnctl_messages_consumed_total")?.type, "COUNTER");
  });

  await t.step("metrics observes durations in seconds into histograms with fitting buckets", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    metrics.recordBatch({
      consumed: 120,
      predicted: 2,
      churned: 0,
      deadLetters: {},
      inferenceMs: 3,
      endToEndMs: [40, 2000],
    });
    const families = await scrape(metrics);
    const e2e = histogramOf(families, "churnctl_end_to_end_latency_seconds")!;
    assert.equal(e2e.count, 2);
    assert.ok(Math.abs(e2e.sum - 2.04) < 1e-9, `sum ${e2e.sum}`);
    assert.equal(e2e.buckets.get(0.05), 1);
    assert.equal(e2e.buckets.get(1), 1);
    assert.equal(e2e.buckets.get(2.5), 2);
    const inference = histogramOf(families, "churnctl_model_inference_seconds")!;
    assert.equal(inference.count, 1);
    assert.ok(Math.abs(inference.sum - 0.003) < 1e-12);
    assert.equal(inference.buckets.get(0.0025), 0);
    assert.equal(inference.buckets.get(0.005), 1);
    const size = histogramOf(families, "churnctl_batch_size_messages")!;
    assert.equal(size.count, 1);
    assert.equal(size.sum, 120);
    assert.equal(size.buckets.get(100), 0);
    assert.equal(size.buckets.get(250), 1);
  });

  await t.step("metrics treats negative durations (clock skew) as 0", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    metrics.recordBatch({ consumed: 1, predicted: 1, churned: 0, deadLetters: {}, inferenceMs: 1, endToEndMs: [-50] });
    const e2e = histogramOf(await scrape(metrics), "churnctl_end_to_end_latency_seconds")!;
    assert.equal(e2e.sum, 0);
    assert.equal(e2e.buckets.get(0.005), 1);
  });

  await t.step("metrics churn rate covers the most recent window of predictions", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, { ...quiet, churnWindow: 10 });
    const batch = (predicted: number, churned: number) =>
      metrics.recordBatch({ consumed: predicted, predicted, churned, deadLetters: {}, inferenceMs: 1, endToEndMs: [] });
    assert.equal(valueOf(await scrape(metrics), "churnctl_predicted_churn_rate"), 0);
    batch(10, 10);
    assert.equal(valueOf(await scrape(metrics), "churnctl_predicted_churn_rate"), 1);
    batch(5, 0);
    assert.equal(valueOf(await scrape(metrics), "churnctl_predicted_churn_rate"), 10 / 15);
    batch(5, 0);
    assert.equal(valueOf(await scrape(metrics), "churnctl_predicted_churn_rate"), 0);
    batch(0, 0);
    assert.equal(valueOf(await scrape(metrics), "churnctl_predicted_churn_rate"), 0);
  });

  await t.step("metrics lag per topic-partition; setTopicLag forgets partitions no longer reported", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    metrics.setTopicLag("raw", [{ partition: 0, lag: 4 }, { partition: 1, lag: 0 }, { partition: 2, lag: 7 }]);
    metrics.setAssigned(3);
    let families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_consumer_lag_messages", { topic: "raw", partition: "2" }), 7);
    assert.equal(valueOf(families, "churnctl_assigned_partitions"), 3);
    metrics.setTopicLag("raw", [{ partition: 0, lag: 1 }]);
    metrics.setLag("raw", 0, 0);
    families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_consumer_lag_messages", { topic: "raw", partition: "0" }), 0);
    assert.equal(valueOf(families, "churnctl_consumer_lag_messages", { topic: "raw", partition: "2" }), undefined);
  });

  await t.step("metrics errors are counted by kind", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    metrics.recordError("broker");
    metrics.recordError("broker");
    metrics.recordError("commit");
    const families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_errors_total", { kind: "broker" }), 2);
    assert.equal(valueOf(families, "churnctl_errors_total", { kind: "commit" }), 1);
  });

  await t.step("metrics build_info and model_info carry versions as labels", async () => {
    const metrics = new ServiceMetrics({ version: "1.2.3", deno: "0.0.0-test" }, quiet);
    let families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_build_info", { version: "1.2.3", deno: "0.0.0-test" }), 1);
    assert.equal(valueOf(families, "churnctl_model_info"), undefined);
    metrics.setModel("gbm-2024-01");
    metrics.setModel("gbm-2024-02");
    families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_model_info", { version: "gbm-2024-02" }), 1);
    assert.equal(families.get("churnctl_model_info")!.metrics.length, 1);
    assert.equal(valueOf(families, "churnctl_build_info", { deno: Deno.version.deno }), undefined);
    const defaults = await scrape(new ServiceMetrics({ version: "1.2.3" }, quiet));
    assert.equal(valueOf(defaults, "churnctl_build_info", { deno: Deno.version.deno }), 1);
  });

  await t.step("metrics observeBatch adapts the pipeline's BatchOutcome", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    const outcome: BatchOutcome = {
      topic: "raw",
      partition: 0,
      firstOffset: "10",
      lastOffset: "12",
      size: 3,
      predicted: 2,
      churned: 1,
      probabilities: new Float64Array([0.9, 0.1]),
      deadLetters: new Map([["invalid_json", 1]]),
      inferenceMs: 4,
      processMs: 6,
      timestamps: new Float64Array([1000, 1500]),
    };
    metrics.observeBatch(outcome, { fetchedAt: 1900, completedAt: 2000 });
    const families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_messages_consumed_total"), 3);
    assert.equal(valueOf(families, "churnctl_dead_letters_total", { reason: "invalid_json" }), 1);
    const e2e = histogramOf(families, "churnctl_end_to_end_latency_seconds")!;
    assert.equal(e2e.count, 2);
    assert.equal(e2e.sum, 1.5);
  });

  await t.step("metrics readiness gauges read the state at each scrape", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, quiet);
    let view = { ready: false, checks: { broker: false, model: true } };
    metrics.trackReadiness(() => view);
    let families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_ready"), 0);
    assert.equal(valueOf(families, "churnctl_ready_check", { check: "broker" }), 0);
    assert.equal(valueOf(families, "churnctl_ready_check", { check: "model" }), 1);
    view = { ready: true, checks: { broker: true, model: true } };
    families = await scrape(metrics);
    assert.equal(valueOf(families, "churnctl_ready"), 1);
    assert.equal(valueOf(families, "churnctl_ready_check", { check: "broker" }), 1);
  });

  await t.step("metrics instances do not share counters (no global registry)", async () => {
    const first = new ServiceMetrics({ version: "9.9.9" }, quiet);
    const second = new ServiceMetrics({ version: "9.9.9" }, quiet);
    first.recordError("broker");
    assert.equal(valueOf(await scrape(second), "churnctl_errors_total", { kind: "broker" }), undefined);
  });

  await t.step("metrics names follow Prometheus conventions", async () => {
    const families = await scrape(new ServiceMetrics({ version: "9.9.9" }, quiet));
    assert.ok(families.size >= 15, `only ${families.size} families`);
    for (const family of families.values()) {
      assert.match(family.name, /^churnctl_[a-z_]+$/);
      assert.equal(family.type === "COUNTER", family.name.endsWith("_total"), family.name);
      if (family.type === "HISTOGRAM") assert.match(family.name, /_(seconds|messages)$/);
      assert.ok(family.help.length > 10, family.name);
    }
  });

  await t.step("metrics include the standard process metrics by default", async () => {
    const families = await scrape(new ServiceMetrics({ version: "9.9.9" }));
    assert.ok((valueOf(families, "churnctl_process_resident_memory_bytes") ?? 0) > 1_000_000);
    assert.ok(families.has("process_cpu_seconds_total"));
  });
});
