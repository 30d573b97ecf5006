import assert from "node:assert/strict";
import { ConfigError, UsageError } from "../../src/errors.ts";
import { createLogger } from "../../src/log.ts";
import { isLoopback, parseListenAddress, type ServiceEndpoint, startServiceEndpoint } from "../../src/service/http.ts";
import { ServiceMetrics } from "../../src/service/metrics.ts";
import { ServiceState } from "../../src/service/state.ts";
import { parseExposition, valueOf } from "./exposition.ts";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ format: "json", level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

async function withEndpoint(
  work: (endpoint: ServiceEndpoint, parts: { metrics: ServiceMetrics; state: ServiceState }) => Promise<void>,
  state = new ServiceState(),
): Promise<void> {
  const metrics = new ServiceMetrics({ version: "9.9.9" }, { processMetrics: false });
  metrics.trackReadiness(() => state.readiness());
  const endpoint = startServiceEndpoint({ address: parseListenAddress("127.0.0.1:0"), metrics, state });
  try {
    await work(endpoint, { metrics, state });
  } finally {
    await endpoint.close();
  }
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(url, init);
  return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
}

Deno.test("parseListenAddress", async (t) => {
  const good: [string, string, number][] = [
    ["127.0.0.1:9464", "127.0.0.1", 9464],
    ["localhost:0", "localhost", 0],
    ["[::1]:9464", "::1", 9464],
    [":9464", "0.0.0.0", 9464],
    ["0.0.0.0:9464", "0.0.0.0", 9464],
  ];
  for (const [text, hostname, port] of good) {
    await t.step(`parseListenAddress reads '${text}'`, () => {
      assert.deepEqual(parseListenAddress(text), { hostname, port });
    });
  }
  for (const text of ["9464", "127.0.0.1", "host:99999", "a:b", "", "::1:9464"]) {
    await t.step(`parseListenAddress rejects '${text}' naming the flag`, () => {
      assert.throws(() => parseListenAddress(text), (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^--metrics-addr: '.*' is not host:port/);
        return true;
      });
    });
  }
});

Deno.test("isLoopback", async (t) => {
  for (
    const [host, expected] of [
      ["127.0.0.1", true],
      ["127.1.2.3", true],
      ["localhost", true],
      ["::1", true],
      [
        "0.0.0.0",
        false,
      ],
      ["10.0.0.5", false],
      ["::", false],
      ["example.com", false],
    ] as const
  ) {
    await t.step(`isLoopback ${host} is ${expected}`, () => assert.equal(isLoopback(host), expected));
  }
});

Deno.test("service endpoint", async (t) => {
  await t.step("endpoint serves /metrics in the text exposition format over real HTTP", async () => {
    await withEndpoint(async (endpoint, { metrics }) => {
      assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(endpoint.port, 0);
      metrics.recordBatch({
        consumed: 4,
        predicted: 3,
        churned: 2,
        deadLetters: { invalid_json: 1 },
        inferenceMs: 1,
        endToEndMs: [10, 10, 10],
      });
      const response = await get(`${endpoint.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.type ?? "", /^text\/plain; version=0\.0\.4/);
      const families = parseExposition(response.body);
      assert.equal(valueOf(families, "churnctl_messages_consumed_total"), 4);
      assert.equal(valueOf(families, "churnctl_predictions_total"), 3);
      assert.equal(valueOf(families, "churnctl_dead_letters_total", { reason: "invalid_json" }), 1);
      assert.equal(valueOf(families, "churnctl_ready"), 0);
    });
  });

  await t.step("endpoint /healthz answers 200 while the loop ticks and 503 once it stalls", async () => {
    let now = 0;
    const state = new ServiceState({ now: () => now, maxSilenceMs: 1000 });
    await withEndpoint(async (endpoint) => {
      let response = await get(`${endpoint.url}/healthz`);
      assert.equal(response.status, 200);
      assert.equal(response.type, "application/json");
      assert.deepEqual(JSON.parse(response.body), { status: "ok", since_tick_ms: 0, max_silence_ms: 1000 });
      now = 5000;
      response = await get(`${endpoint.url}/healthz`);
      assert.equal(response.status, 503);
      assert.equal(JSON.parse(response.body).status, "stalled");
    }, state);
  });

  await t.step("endpoint /ready answers 503 naming what is not ready, then 200", async () => {
    await withEndpoint(async (endpoint, { state }) => {
      let response = await get(`${endpoint.url}/ready`);
      assert.equal(response.status, 503);
      const body = JSON.parse(response.body);
      assert.equal(body.status, "not ready");
      assert.deepEqual(body.not_ready, ["broker: not connected", "model: not loaded"]);
      state.markConnected(true);
      state.markModelLoaded("v1");
      state.markAssigned(3);
      response = await get(`${endpoint.url}/ready`);
      assert.equal(response.status, 200);
      assert.deepEqual(JSON.parse(response.body), {
        status: "ready",
        checks: { broker: true, partitions: true, model: true, running: true },
        assigned_partitions: 3,
        model: "v1",
      });
      const families = parseExposition((await get(`${endpoint.url}/metrics`)).body);
      assert.equal(valueOf(families, "churnctl_ready"), 1);
    });
  });

  await t.step("endpoint answers 404 for other paths and 405 for other methods", async () => {
    await withEndpoint(async (endpoint) => {
      const missing = await get(`${endpoint.url}/`);
      assert.equal(missing.status, 404);
      assert.match(JSON.parse(missing.body).error, /try \/metrics, \/healthz or \/ready/);
      assert.equal((await get(`${endpoint.url}/metricsx`)).status, 404);
      const post = await fetch(`${endpoint.url}/metrics`, { method: "POST", body: "x" });
      await post.body?.cancel();
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      const head = await fetch(`${endpoint.url}/healthz`, { method: "HEAD" });
      await head.body?.cancel();
      assert.equal(head.status, 200);
    });
  });

  await t.step("endpoint logs its URL, and warns when it listens beyond loopback", async () => {
    const metrics = new ServiceMetrics({ version: "9.9.9" }, { processMetrics: false });
    const state = new ServiceState();
    const loopback = capture();
    const local = startServiceEndpoint({
      address: parseListenAddress("127.0.0.1:0"),
      metrics,
      state,
      log: loopback.log,
    });
    await local.close();
    assert.deepEqual(loopback.lines.map((line) => line.level), ["info"]);
    assert.equal(loopback.lines[0].url, local.url);
    const open = capture();
    const wide = startServiceEndpoint({ address: parseListenAddress("0.0.0.0:0"), metrics, state, log: open.log });
    await wide.close();
    assert.deepEqual(open.lines.map((line) => line.level), ["warn", "info"]);
    assert.match(String(open.lines[0].msg), /beyond this machine/);
    assert.equal(open.lines[0].address, "0.0.0.0:0");
  });

  await t.step("endpoint refuses an address in use with a one-line ConfigError", async () => {
    await withEndpoint((endpoint) => {
      const metrics = new ServiceMetrics({ version: "9.9.9" }, { processMetrics: false });
      assert.throws(
        () =>
          startServiceEndpoint({
            address: { hostname: "127.0.0.1", port: endpoint.port },
            metrics,
            state: new ServiceState(),
          }),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(
            error.message,
            `--metrics-addr 127.0.0.1:${endpoint.port}: cannot listen: address already in use`,
          );
          return true;
        },
      );
      return Promise.resolve();
    });
  });

  await t.step("endpoint close() stops listening and is safe to call twice", async () => {
    let url = "";
    await withEndpoint(async (endpoint) => {
      url = endpoint.url;
      assert.equal((await get(`${url}/healthz`)).status, 200);
      await endpoint.close();
    });
    await assert.rejects(fetch(`${url}/healthz`));
  });
});
