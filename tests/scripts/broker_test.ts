import assert from "node:assert/strict";
import {
  brokerDown,
  brokerStop,
  explainingLines,
  resolveBrokerConfig,
  rootCause,
  secureEnvText,
  serverProperties,
} from "../../scripts/broker.ts";
import { ChurnctlError, UsageError } from "../../src/errors.ts";

const quiet = () => {};

Deno.test("broker config", async (t) => {
  await t.step("broker config defaults to 19092, 19093, 19094 and Kafka 3.9.1", () => {
    const config = resolveBrokerConfig({ env: { HOME: "/home/u" } });
    assert.equal(config.port, 19092);
    assert.equal(config.controllerPort, 19093);
    assert.equal(config.securePort, 19094);
    assert.equal(config.kafkaVersion, "3.9.1");
    assert.equal(config.cacheDir, "/home/u/.cache/churnctl/kafka-3.9.1");
    assert.match(config.stateDir, /\.churnctl$/);
  });
  await t.step("broker config reads the environment", () => {
    const config = resolveBrokerConfig({
      env: {
        CHURNCTL_BROKER_PORT: "29092",
        CHURNCTL_KAFKA_VERSION: "3.8.1",
        CHURNCTL_STATE_DIR: "/tmp/state",
        XDG_CACHE_HOME: "/c",
      },
    });
    assert.deepEqual([config.port, config.controllerPort, config.securePort], [29092, 29093, 29094]);
    assert.equal(config.stateDir, "/tmp/state");
    assert.equal(config.cacheDir, "/c/churnctl/kafka-3.8.1");
  });
  await t.step("broker config rejects a bad port or version with a usage error", () => {
    assert.throws(() => resolveBrokerConfig({ env: { CHURNCTL_BROKER_PORT: "x" } }), UsageError);
    assert.throws(() => resolveBrokerConfig({ env: { CHURNCTL_KAFKA_VERSION: "latest" } }), UsageError);
  });
});

Deno.test("broker files", async (t) => {
  const ports = { host: "127.0.0.1", port: 19092, controllerPort: 19093, securePort: 19094 };
  await t.step("server.properties is a combined KRaft node without auto-created topics", () => {
    const text = serverProperties(ports, "/tmp/d");
    assert.match(text, /^process\.roles=broker,controller$/m);
    assert.match(text, /^controller\.quorum\.voters=1@127\.0\.0\.1:19093$/m);
    assert.match(text, /^auto\.create\.topics\.enable=false$/m);
    assert.match(text, /^log\.dirs=\/tmp\/d$/m);
    assert.doesNotMatch(text, /SASL_SSL/);
  });
  await t.step("server.properties adds a SCRAM-SHA-512 SASL_SSL listener in secure mode", () => {
    const text = serverProperties(ports, "/tmp/d", { keystoreFile: "/k.p12", keystorePassword: "pw" });
    assert.match(text, /^listeners=.*SASL_SSL:\/\/127\.0\.0\.1:19094/m);
    assert.match(text, /^inter\.broker\.listener\.name=PLAINTEXT$/m);
    assert.match(text, /^sasl\.enabled\.mechanisms=SCRAM-SHA-512$/m);
    assert.match(text, /^ssl\.keystore\.location=\/k\.p12$/m);
  });
  await t.step("secure.env exports what a client needs", () => {
    const text = secureEnvText(ports, "/tmp/ca.pem", "s3cret");
    assert.match(text, /^export CHURNCTL_BROKERS=127\.0\.0\.1:19094$/m);
    assert.match(text, /^export CHURNCTL_SECURITY_PROTOCOL=sasl_ssl$/m);
    assert.match(text, /^export CHURNCTL_SASL_MECHANISM=scram-sha-512$/m);
    assert.match(text, /^export CHURNCTL_SASL_PASSWORD='s3cret'$/m);
    assert.match(text, /^export CHURNCTL_TLS_CA='\/tmp\/ca\.pem'$/m);
  });
});

Deno.test("broker log", async (t) => {
  const log = [
    "[2026-01-01 00:00:00,000] ERROR [ControllerServer id=1] fatal (kafka.server.ControllerServer)",
    "java.lang.RuntimeException: Unable to start acceptor",
    "\tat kafka.network.Acceptor.start(SocketServer.scala:627)",
    "Caused by: org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:19093: in use.",
    "Caused by: java.net.BindException: Address already in use",
    "\t... 17 more",
  ].join("\n");
  await t.step("broker log root cause prefers Kafka's own exception", () => {
    assert.equal(rootCause(log), "Socket server failed to bind to 127.0.0.1:19093: in use.");
  });
  await t.step("broker log root cause falls back to the last ERROR line", () => {
    assert.equal(rootCause("[x] INFO ok\n[y] ERROR boom (c)"), "boom (c)");
    assert.equal(rootCause("[x] INFO ok"), undefined);
  });
  await t.step("broker log excerpt drops stack frames", () => {
    assert.equal(explainingLines(log).some((line) => /^\s+(at|\.\.\.)/.test(line)), false);
    assert.equal(explainingLines(log).length, 4);
  });
});

Deno.test("broker without a recorded broker", async (t) => {
  const stateDir = await Deno.makeTempDir();
  try {
    await t.step("broker down succeeds when nothing is recorded", async () => {
      const result = await brokerDown({ stateDir, progress: quiet });
      assert.equal(result.pid, undefined);
      assert.match(result.message, /nothing to stop/);
    });
    await t.step("broker stop fails with one line when nothing is recorded", async () => {
      await assert.rejects(brokerStop({ stateDir, progress: quiet }), ChurnctlError);
    });
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
