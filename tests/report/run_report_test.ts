import assert from "node:assert/strict";
import { join } from "node:path";
import { RunStats } from "../../src/pipeline/stats.ts";
import { buildRunReport, defaultReportPath, RUN_REPORT_SCHEMA, writeRunReport } from "../../src/report/run_report.ts";

Deno.test("run report", async (t) => {
  const facts = {
    mode: "batch",
    guarantee: "at-least-once" as const,
    stopped_by: "idle_timeout" as const,
    model_version: "sha256:abc",
    group: "g",
    topics: { input: "in", predictions: "out", deadletter: "dlq" },
    started_at: "2026-01-01T00:00:00.000Z",
    ended_at: "2026-01-01T00:00:02.500Z",
  };

  await t.step("buildRunReport combines facts and statistics with the duration", () => {
    const report = buildRunReport(facts, new RunStats().snapshot());
    assert.equal(report.schema, RUN_REPORT_SCHEMA);
    assert.equal(report.duration_sec, 2.5);
    assert.equal(report.guarantee, "at-least-once");
    assert.equal(report.consumed, 0);
    assert.deepEqual(report.probability_histogram.bins, new Array(10).fill(0));
  });

  await t.step("defaultReportPath names the file after the start time without colons", () => {
    assert.equal(
      defaultReportPath("reports", new Date(facts.started_at)),
      join("reports", "consume-2026-01-01T000000Z.json"),
    );
  });

  await t.step(
    "writeRunReport creates the directory and writes parseable JSON, leaving no temporary file",
    async () => {
      const dir = await Deno.makeTempDir();
      const path = join(dir, "nested", "run.json");
      await writeRunReport(path, buildRunReport(facts, new RunStats().snapshot()));
      assert.equal(JSON.parse(await Deno.readTextFile(path)).group, "g");
      assert.deepEqual([...Deno.readDirSync(join(dir, "nested"))].map((entry) => entry.name), ["run.json"]);
      await Deno.remove(dir, { recursive: true });
    },
  );
});
