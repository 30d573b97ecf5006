import assert from "node:assert/strict";
import { parse } from "yaml";
import { ServiceMetrics } from "../../src/service/metrics.ts";
import { ROOT } from "../support.ts";
import { parseExposition } from "./exposition.ts";

const dashboard = JSON.parse(await Deno.readTextFile(`${ROOT}docs/grafana-dashboard.json`));
const prometheus = parse(await Deno.readTextFile(`${ROOT}docs/prometheus.yml`));
const compose = parse(await Deno.readTextFile(`${ROOT}compose.yaml`));

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string }[];
}

const panels: Panel[] = dashboard.panels;
const expressions = panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
const exported = parseExposition(await new ServiceMetrics({ version: "0.0.0" }, { processMetrics: false }).render());

Deno.test("monitoring files", async (t) => {
  await t.step("dashboard charts every churnctl metric the consumer exports", () => {
    const used = new Set(
      expressions.flatMap((expr) => expr.match(/churnctl_[a-z_]+/g) ?? []).map((name) =>
        name.replace(/_(bucket|sum|count)$/, "")
      ),
    );
    const missing = [...exported.keys()].filter((name) => !used.has(name));
    assert.deepEqual(missing, []);
  });

  await t.step("dashboard queries only metrics that exist (no typo in a name)", () => {
    for (const expr of expressions) {
      for (const name of expr.match(/churnctl_[a-z_]+/g) ?? []) {
        const family = name.replace(/_(bucket|sum|count)$/, "");
        assert.ok(exported.has(family), `${name} in '${expr}'`);
        if (name !== family) assert.equal(exported.get(family)!.type, "HISTOGRAM", name);
      }
    }
  });

  await t.step(
    "dashboard is importable: unique panel ids, a Prometheus data-source input, quantiles from buckets",
    () => {
      const ids = panels.map((panel) => panel.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(dashboard.__inputs[0].pluginId, "prometheus");
      assert.ok(panels.every((panel) => panel.type === "row" || (panel.targets?.length ?? 0) > 0));
      assert.ok(
        expressions.some((expr) =>
          /histogram_quantile\(0\.99, .*churnctl_end_to_end_latency_seconds_bucket/.test(expr)
        ),
      );
    },
  );

  await t.step("prometheus.yml scrapes /metrics on the host's default metrics port", () => {
    const job = prometheus.scrape_configs.find((item: { job_name: string }) => item.job_name === "churnctl");
    assert.equal(job.metrics_path, "/metrics");
    assert.deepEqual(job.static_configs[0].targets, ["host.docker.internal:9464"]);
  });

  await t.step("compose runs Prometheus only under the monitoring profile, with docs/prometheus.yml", () => {
    const service = compose.services.prometheus;
    assert.deepEqual(service.profiles, ["monitoring"]);
    assert.ok(service.volumes.includes("./docs/prometheus.yml:/etc/prometheus/prometheus.yml:ro"));
    assert.ok(service.extra_hosts.includes("host.docker.internal:host-gateway"));
    assert.ok(service.ports.includes("127.0.0.1:9090:9090"));
    for (const [name, other] of Object.entries(compose.services) as [string, { profiles?: string[] }][]) {
      if (name !== "prometheus") assert.equal(other.profiles, undefined, `${name} must stay in the default profile`);
    }
  });
});
