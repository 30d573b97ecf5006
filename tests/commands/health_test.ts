import assert from "node:assert/strict";
import { runCli, topicEnv, uniqueTopics } from "../support.ts";

interface HealthReport {
  healthy: boolean;
  checks: { name: string; status: string; detail: string; data?: Record<string, unknown> }[];
}

Deno.test("health", async (t) => {
  const topics = uniqueTopics("health");
  const env = topicEnv(topics);
  await t.step("health reports a missing topic and exits 1", async () => {
    const result = await runCli(["health", "--json"], { env });
    assert.equal(result.code, 1, result.stderr);
    const report: HealthReport = JSON.parse(result.stdout);
    assert.equal(report.healthy, false);
    const broker = report.checks.find((check) => check.name === "broker");
    assert.equal(broker?.status, "ok");
    const input = report.checks.find((check) => check.name === `topic:${topics.input}`);
    assert.equal(input?.status, "fail");
    assert.match(input?.detail ?? "", /missing/);
  });
  await t.step("health is healthy once setup ran, with partitions, the model and the group lag", async () => {
    assert.equal((await runCli(["setup"], { env })).code, 0);
    const result = await runCli(["health", "--json"], { env });
    const report: HealthReport = JSON.parse(result.stdout);
    assert.equal(result.code, 0, JSON.stringify(report.checks));
    assert.equal(report.healthy, true);
    const partitions = Object.fromEntries(
      report.checks.filter((check) => check.name.startsWith("topic:")).map((check) => [
        check.name.slice(6),
        check.data?.partitions,
      ]),
    );
    assert.deepEqual(partitions, { [topics.input]: 3, [topics.output]: 3, [topics.deadletter]: 1 });
    const model = report.checks.find((check) => check.name === "model");
    assert.equal(model?.status, "ok", model?.detail);
    assert.match(String(model?.data?.version), /^sha256:[0-9a-f]{12}/);
    const group = report.checks.find((check) => check.name === "group");
    assert.equal(group?.data?.totalLag, 0);
    assert.deepEqual(report.checks.find((check) => check.name === "mode")?.data, { mode: "at-least-once" });
  });
  await t.step("health shows the exactly-once mode and its transactional id from CHURNCTL_EXACTLY_ONCE", async () => {
    const result = await runCli(["health", "--json"], {
      env: { ...env, CHURNCTL_EXACTLY_ONCE: "1", CHURNCTL_INSTANCE_ID: "member-a" },
    });
    const mode = (JSON.parse(result.stdout) as HealthReport).checks.find((check) => check.name === "mode");
    assert.equal(mode?.status, "ok");
    assert.deepEqual(mode?.data, { mode: "exactly-once", transactional_id: `churnctl-${topics.group}-member-a` });
    assert.match(mode!.detail, /read_committed/);
  });
  await t.step("health answers within 10 s with exit 1 and a one-line reason when no broker listens", async () => {
    const started = performance.now();
    const result = await runCli(["health"], { env: { CHURNCTL_BROKERS: "127.0.0.1:1" } });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(result.code, 1);
    assert.ok(seconds < 10, `took ${seconds} s`);
    assert.match(result.stdout, /FAIL broker: no broker at 127\.0\.0\.1:1: connection refused/);
    assert.match(result.stdout, /unhealthy/);
    assert.equal(result.stderr, "");
  });
  await t.step("health gives up within 10 s on a listener that never answers", async () => {
    // Accepts connections and says nothing: the broker requests hang until health's own deadline.
    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const held: Deno.Conn[] = [];
    (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    try {
      const started = performance.now();
      const result = await runCli(["health", "--json", "--timeout-ms", "3000"], {
        env: { CHURNCTL_BROKERS: `127.0.0.1:${(silent.addr as Deno.NetAddr).port}` },
      });
      const seconds = (performance.now() - started) / 1000;
      assert.equal(result.code, 1);
      assert.ok(seconds < 10, `took ${seconds} s`);
      const report: HealthReport = JSON.parse(result.stdout);
      assert.equal(report.healthy, false);
      assert.match(report.checks[0].detail, /did not answer/);
    } finally {
      silent.close();
      for (const conn of held) conn.close();
    }
  });
});
