import assert from "node:assert/strict";
import {
  checkBrokerList,
  CLUSTER_OPTIONS,
  clusterConfig,
  CONNECTION_OPTIONS,
  envName,
  type OptionSpecs,
  parseOptions,
} from "../src/config.ts";
import { ConfigError, UsageError } from "../src/errors.ts";
import { maskSecrets } from "../src/log.ts";

const SPECS = {
  ...CONNECTION_OPTIONS,
  rate: { kind: "number", default: 1, min: 0.1, help: "rate" },
  count: { kind: "int", help: "count" },
  mode: { kind: "enum", choices: ["batch", "streaming"], default: "batch", help: "mode" },
  verbose: { kind: "boolean", help: "verbose" },
  secretless: { kind: "boolean", env: false, help: "no variable" },
} as const satisfies OptionSpecs;

Deno.test("config layering", async (t) => {
  await t.step("config uses the default when neither flag nor variable is set", () => {
    const { values } = parseOptions([], SPECS, {}, "test");
    assert.deepEqual(values.brokers, ["127.0.0.1:19092"]);
    assert.equal(values["input-topic"], "telco.raw.customers");
    assert.equal(values["output-topic"], "telco.churn.predictions");
    assert.equal(values["deadletter-topic"], "telco.churn.deadletter");
    assert.equal(values.group, "churn-prediction-group");
    assert.equal(values["state-dir"], ".churnctl");
    assert.equal(values["reports-dir"], "reports");
    assert.equal(values.count, undefined);
    assert.equal(values.verbose, false);
  });
  await t.step("config takes the environment over the default", () => {
    const env = { CHURNCTL_BROKERS: "a:1,b:2", CHURNCTL_GROUP: "g", CHURNCTL_RATE: "2.5", CHURNCTL_VERBOSE: "yes" };
    const { values } = parseOptions([], SPECS, env, "test");
    assert.deepEqual(values.brokers, ["a:1", "b:2"]);
    assert.equal(values.group, "g");
    assert.equal(values.rate, 2.5);
    assert.equal(values.verbose, true);
  });
  await t.step("config takes the flag over the environment", () => {
    const env = { CHURNCTL_BROKERS: "a:1", CHURNCTL_MODE: "batch", CHURNCTL_COUNT: "3" };
    const { values } = parseOptions(["--brokers", "c:3", "--mode=streaming", "--count", "7"], SPECS, env, "test");
    assert.deepEqual(values.brokers, ["c:3"]);
    assert.equal(values.mode, "streaming");
    assert.equal(values.count, 7);
  });
  await t.step("config ignores an empty variable", () => {
    const { values } = parseOptions([], SPECS, { CHURNCTL_GROUP: "" }, "test");
    assert.equal(values.group, "churn-prediction-group");
  });
  await t.step("config has no variable for an option marked env: false", () => {
    const { values } = parseOptions([], SPECS, { CHURNCTL_SECRETLESS: "1" }, "test");
    assert.equal(values.secretless, false);
  });
  await t.step("config derives the variable name from the flag", () => {
    assert.equal(envName("events-per-sec"), "CHURNCTL_EVENTS_PER_SEC");
  });
});

Deno.test("config errors", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["unknown flag", ["--nope"], {}, /unknown flag --nope/],
    ["missing flag value", ["--count"], {}, /--count needs a value/],
    ["bad integer", ["--count", "1.5"], {}, /--count: expected a whole number, got '1.5'/],
    ["bad number in a variable", [], { CHURNCTL_RATE: "fast" }, /CHURNCTL_RATE: expected a number, got 'fast'/],
    ["number below its minimum", ["--rate", "0"], {}, /--rate: must be at least 0.1/],
    ["bad enum", ["--mode", "turbo"], {}, /--mode: expected one of batch, streaming, got 'turbo'/],
    ["bad boolean variable", [], { CHURNCTL_VERBOSE: "maybe" }, /CHURNCTL_VERBOSE: expected true or false/],
    ["stray argument", ["extra"], {}, /unexpected argument 'extra'/],
  ];
  for (const [name, argv, env, pattern] of cases) {
    await t.step(`config rejects ${name} with a one-line usage error`, () => {
      assert.throws(() => parseOptions(argv, SPECS, env, "test"), (error: unknown) => {
        assert.ok(error instanceof UsageError, `not a UsageError: ${error}`);
        assert.equal(error.exitCode, 2);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes("\n"));
        return true;
      });
    });
  }
  await t.step("config rejects a broker address without a port", () => {
    assert.throws(() => checkBrokerList(["localhost"]), /'localhost' is not host:port/);
    assert.deepEqual(checkBrokerList(["[::1]:9092", "h:1"]), ["[::1]:9092", "h:1"]);
  });
});

Deno.test("config security", async (t) => {
  const parse = (env: Record<string, string>, argv: string[] = []) =>
    clusterConfig(parseOptions(argv, CLUSTER_OPTIONS, env, "test").values, env);
  await t.step("config reads the SASL password from the environment only and masks it", () => {
    const cluster = parse({
      CHURNCTL_SECURITY_PROTOCOL: "sasl_plaintext",
      CHURNCTL_SASL_USERNAME: "alice",
      CHURNCTL_SASL_PASSWORD: "pw-marker-123",
    });
    assert.equal(cluster.connection.sasl?.password, "pw-marker-123");
    assert.equal(cluster.connection.sasl?.mechanism, "scram-sha-512");
    assert.ok(!JSON.stringify(cluster.describe).includes("pw-marker-123"));
    assert.equal(maskSecrets("auth pw-marker-123 failed"), "auth *** failed");
  });
  await t.step("config has no password flag", () => {
    assert.throws(() => parse({}, ["--sasl-password", "x"]), /unknown flag --sasl-password/);
  });
  await t.step("config asks for credentials a SASL protocol needs", () => {
    assert.throws(
      () => parse({ CHURNCTL_SECURITY_PROTOCOL: "sasl_ssl" }),
      (error: unknown) => error instanceof ConfigError && /CHURNCTL_SASL_USERNAME/.test(error.message),
    );
  });
  await t.step("config names a missing CA file", () => {
    assert.throws(
      () => parse({ CHURNCTL_SECURITY_PROTOCOL: "ssl", CHURNCTL_TLS_CA: "/nonexistent/ca.pem" }),
      /CHURNCTL_TLS_CA: cannot read \/nonexistent\/ca.pem: no such file/,
    );
  });
  await t.step("config warns when certificate verification is off", () => {
    const warnings: string[] = [];
    const env = { CHURNCTL_SECURITY_PROTOCOL: "ssl" };
    clusterConfig(
      parseOptions(["--tls-insecure-skip-verify"], CLUSTER_OPTIONS, env, "test").values,
      env,
      (message) => warnings.push(message),
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /verification is OFF/);
  });
  await t.step("config names a CA or key file that is not PEM", () => {
    const notPem = new URL("./config_test.ts", import.meta.url).pathname;
    assert.throws(
      () => parse({ CHURNCTL_SECURITY_PROTOCOL: "ssl", CHURNCTL_TLS_CA: notPem }),
      /CHURNCTL_TLS_CA: .*config_test\.ts is not a PEM certificate/,
    );
    const ca = new URL("./fixtures/other-ca.pem", import.meta.url).pathname;
    assert.throws(
      () => parse({ CHURNCTL_SECURITY_PROTOCOL: "ssl", CHURNCTL_TLS_CERT: ca, CHURNCTL_TLS_KEY: ca }),
      /CHURNCTL_TLS_KEY: .* is not a PEM private key/,
    );
  });
  await t.step(
    "config warns about TLS and SASL settings the protocol does not use, and masks the password anyway",
    () => {
      const warnings: string[] = [];
      const env = {
        CHURNCTL_SASL_USERNAME: "bob",
        CHURNCTL_SASL_PASSWORD: "unused-marker-456",
        CHURNCTL_TLS_CA: "/x.pem",
      };
      clusterConfig(parseOptions([], CLUSTER_OPTIONS, env, "test").values, env, (message) => warnings.push(message));
      assert.equal(warnings.length, 2);
      assert.match(warnings[0], /CHURNCTL_SASL_USERNAME is set but the security protocol is plaintext/);
      assert.match(warnings[1], /TLS settings are set but the security protocol is plaintext/);
      assert.equal(maskSecrets("x unused-marker-456 y"), "x *** y");
    },
  );
});
