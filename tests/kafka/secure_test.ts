/**
 * churnctl against a real secured broker: SASL_SSL with SCRAM-SHA-512 and a
 * throwaway CA, started by `scripts/broker.ts` on its own ports and state
 * folder (29092 plaintext, 29094 SASL_SSL by default) so the shared
 * plaintext broker is never touched. One broker start for the whole file.
 *
 * Settings: `CHURNCTL_TEST_SECURE_PORT` (plaintext port; SASL_SSL is +2) and
 * `CHURNCTL_TEST_SECURE_STATE_DIR`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { brokerDown, brokerUp, type BrokerUpResult } from "../../scripts/broker.ts";
import { readTopic } from "../../src/kafka/reader.ts";
import type { ConnectionSettings } from "../../src/kafka/client.ts";
import { type CliResult, DATA_FILE, ROOT, runCli, uniqueTopics } from "../support.ts";

const PORT = Number(Deno.env.get("CHURNCTL_TEST_SECURE_PORT") || 29092);
const STATE_DIR = Deno.env.get("CHURNCTL_TEST_SECURE_STATE_DIR") || join(ROOT, ".churnctl", "secure-test-broker");
/** A CA that did not sign the broker's certificate (a public certificate; its key was thrown away). */
const OTHER_CA = join(ROOT, "tests", "fixtures", "other-ca.pem");
/** Every error must reach the user within this (the bound). */
const ERROR_DEADLINE_MS = 10000;

/** Reads the `export NAME=value` lines of `secure.env` as the shell would. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of text.matchAll(/^export (CHURNCTL_[A-Z_]+)=(?:'([^']*)'|(\S*))$/gm)) {
    env[match[1]] = match[2] ?? match[3];
  }
  return env;
}

/** A CLI run and how long it took. */
interface TimedResult extends CliResult {
  ms: number;
}

async function timedCli(args: string[], env: Record<string, string>): Promise<TimedResult> {
  const started = performance.now();
  const result = await runCli(args, { env });
  return { ...result, ms: Math.round(performance.now() - started) };
}

/** The line a user reads about the failure: the edge's `error:` line, or health's failing broker check. */
function failureLine(result: CliResult): string {
  const error = result.stderr.split("\n").find((line) => line.startsWith("error: "));
  if (error) return error.slice("error: ".length);
  const check = result.stdout.split("\n").find((line) => line.startsWith("FAIL broker: "));
  return check
    ? check.slice("FAIL broker: ".length)
    : `(no failure line; stdout ${result.stdout}; stderr ${result.stderr})`;
}

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) files.push(...await filesUnder(path));
      else if (entry.isFile) files.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return files;
}

const modeOf = async (path: string) => (await Deno.stat(path)).mode! & 0o777;

Deno.test({
  name: "secured broker",
  // The broker process and kafkajs's reconnect timers outlive single steps by design.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    let up: BrokerUpResult | undefined;
    const work = await Deno.makeTempDir({ prefix: "churnctl-secure-test-" });
    try {
      up = await brokerUp({ secure: true, port: PORT, stateDir: STATE_DIR, progress: () => {} });
      const secureEnvPath = up.secureEnvFile!;
      const secure = parseEnvFile(await Deno.readTextFile(secureEnvPath));
      const password = secure.CHURNCTL_SASL_PASSWORD;
      const plaintextAddress = `127.0.0.1:${PORT}`;
      const topics = uniqueTopics("secure");
      // Folders churnctl must create itself, so their modes are its doing.
      const stateDir = join(work, "state");
      const reportsDir = join(work, "reports");
      // Every CHURNCTL_ setting spelled out, so nothing from the developer's shell leaks in.
      const env: Record<string, string> = {
        ...secure,
        CHURNCTL_TLS_CERT: "",
        CHURNCTL_TLS_KEY: "",
        CHURNCTL_TLS_INSECURE_SKIP_VERIFY: "",
        CHURNCTL_INPUT_TOPIC: topics.input,
        CHURNCTL_OUTPUT_TOPIC: topics.output,
        CHURNCTL_DEADLETTER_TOPIC: topics.deadletter,
        CHURNCTL_GROUP: topics.group,
        CHURNCTL_STATE_DIR: stateDir,
        CHURNCTL_REPORTS_DIR: reportsDir,
        CHURNCTL_LOG_FORMAT: "text",
        CHURNCTL_LOG_LEVEL: "info",
      };
      const runs: { args: string[]; result: CliResult }[] = [];
      const cli = async (args: string[], extra: Record<string, string> = {}) => {
        const result = await timedCli(args, { ...env, ...extra });
        runs.push({ args, result });
        return result;
      };

      await t.step("broker script writes secure.env owner-only with every client setting", async () => {
        assert.equal(await modeOf(secureEnvPath), 0o600);
        assert.equal(secure.CHURNCTL_BROKERS, `127.0.0.1:${PORT + 2}`);
        assert.equal(secure.CHURNCTL_SECURITY_PROTOCOL, "sasl_ssl");
        assert.equal(secure.CHURNCTL_SASL_MECHANISM, "scram-sha-512");
        assert.ok(password && password.length >= 16, "a random SASL password");
        assert.match(await Deno.readTextFile(secure.CHURNCTL_TLS_CA), /-----BEGIN CERTIFICATE-----/);
      });

      let predicted = 0;
      await t.step("pipeline setup → produce → consume → summary succeeds over SASL_SSL + SCRAM-SHA-512", async () => {
        const setup = await cli(["setup", "--json"]);
        assert.equal(setup.code, 0, setup.stderr);
        assert.deepEqual(JSON.parse(setup.stdout).topics.map((item: { status: string }) => item.status), [
          "created",
          "created",
          "created",
        ]);

        const produce = await cli(["produce", "--mode", "batch", "--input", DATA_FILE, "--json"]);
        assert.equal(produce.code, 0, produce.stderr);
        const produced = JSON.parse(produce.stdout);
        assert.ok(produced.sent > 1000, `sent ${produced.sent}`);
        assert.equal(produced.failed, 0);

        const consume = await cli(["consume", "--mode", "batch", "--timeout-ms", "3000", "--json"]);
        assert.equal(consume.code, 0, consume.stderr);
        const report = JSON.parse(consume.stdout);
        assert.equal(report.consumed, produced.sent);
        assert.equal(report.predicted + report.dead_lettered, produced.sent);
        predicted = report.predicted;

        const summary = await cli(["summary", "--json", "--since", "1h"]);
        assert.equal(summary.code, 0, summary.stderr);
        assert.equal(JSON.parse(summary.stdout).predictions, predicted);
      });

      await t.step("reader reads the predictions back over the same secured connection", async () => {
        const connection: ConnectionSettings = {
          brokers: [secure.CHURNCTL_BROKERS],
          clientId: "churnctl-secure-test",
          connectTimeoutMs: 5000,
          protocol: "sasl_ssl",
          sasl: { mechanism: "scram-sha-512", username: secure.CHURNCTL_SASL_USERNAME, password },
          tls: { ca: await Deno.readTextFile(secure.CHURNCTL_TLS_CA), caPath: secure.CHURNCTL_TLS_CA },
        };
        const messages = await readTopic(connection, topics.output, { idleMs: 3000 });
        assert.equal(messages.length, predicted);
      });

      const wrongPassword = `churnctl-marker-${crypto.randomUUID()}`;
      const cases: { name: string; env: Record<string, string>; line: RegExp }[] = [
        {
          name: "a wrong password fails authentication, naming the mechanism and user",
          env: { CHURNCTL_SASL_PASSWORD: wrongPassword },
          line:
            /^authentication failed at 127\.0\.0\.1:\d+: SASL SCRAM-SHA-512 rejected the credentials for user 'churnctl' \(check CHURNCTL_SASL_USERNAME, CHURNCTL_SASL_PASSWORD and CHURNCTL_SASL_MECHANISM\)$/,
        },
        {
          name: "an unknown CA fails certificate verification, naming the CA file",
          env: { CHURNCTL_TLS_CA: OTHER_CA },
          line: new RegExp(
            `^TLS certificate verification failed for 127\\.0\\.0\\.1:\\d+ against CA file ${
              OTHER_CA.replaceAll(".", "\\.")
            }: self-signed certificate in certificate chain \\(check CHURNCTL_TLS_CA\\)$`,
          ),
        },
        {
          name: "a plaintext client against the TLS listener is told it looks like TLS",
          env: { CHURNCTL_SECURITY_PROTOCOL: "plaintext" },
          line:
            /^127\.0\.0\.1:\d+ closed the connection at once: it looks like a TLS listener \(CHURNCTL_SECURITY_PROTOCOL is plaintext; try ssl or sasl_ssl with CHURNCTL_TLS_CA\)$/,
        },
        {
          name: "a TLS client against the plaintext listener is told it looks like plaintext",
          env: { CHURNCTL_BROKERS: plaintextAddress },
          line:
            /^TLS handshake with 127\.0\.0\.1:\d+ failed: it looks like a plaintext listener \(CHURNCTL_SECURITY_PROTOCOL is sasl_ssl/,
        },
        {
          name: "TLS without SASL against the SASL_SSL listener is told SASL is required",
          env: { CHURNCTL_SECURITY_PROTOCOL: "ssl" },
          line: /closed the connection after the TLS handshake: the listener probably requires SASL .*try sasl_ssl/,
        },
        {
          name: "a mechanism the broker does not offer is named",
          env: { CHURNCTL_SASL_MECHANISM: "scram-sha-256" },
          line: /^the broker at 127\.0\.0\.1:\d+ does not offer SASL SCRAM-SHA-256 \(check CHURNCTL_SASL_MECHANISM\)$/,
        },
        {
          name: "a missing CA file is named before any connection",
          env: { CHURNCTL_TLS_CA: join(work, "no-such-ca.pem") },
          line: /^CHURNCTL_TLS_CA: cannot read .*no-such-ca\.pem: no such file$/,
        },
        {
          name: "a CA file that is not PEM is named before any connection",
          env: { CHURNCTL_TLS_CA: DATA_FILE },
          line: /^CHURNCTL_TLS_CA: .* is not a PEM certificate/,
        },
      ];
      for (const item of cases) {
        await t.step(`security error: ${item.name}, in one line and exit 1 within 10 s`, async () => {
          for (const command of ["health", "setup"]) {
            const result = await cli([command], item.env);
            const line = failureLine(result);
            assert.equal(result.code, 1, `${command}: exit ${result.code}; ${line}`);
            assert.ok(result.ms < ERROR_DEADLINE_MS, `${command} took ${result.ms} ms`);
            assert.match(line, item.line, `${command}: ${line}`);
            // One error line, last, and no stack (warnings about unused settings may precede it).
            const stderr = result.stderr.trim().split("\n");
            // health reports a broker failure as its failing check, a settings mistake as the error line.
            const errors = stderr.filter((text) => text.startsWith("error: "));
            assert.equal(errors.length, command === "setup" ? 1 : errors.length && 1);
            if (errors.length) assert.equal(stderr.at(-1), `error: ${line}`);
            assert.ok(!stderr.some((text) => /^\s+at /.test(text)), result.stderr);
            console.log(`    ${command} ${result.ms} ms: ${line}`);
          }
        });
      }

      await t.step("skipping verification works with an unknown CA and warns every time", async () => {
        for (let time = 0; time < 2; time++) {
          const result = await cli(["health", "--tls-insecure-skip-verify"], { CHURNCTL_TLS_CA: OTHER_CA });
          assert.match(result.stdout, /^OK {3}broker: answered/m);
          assert.match(result.stderr, /WARN .*TLS certificate verification is OFF/);
        }
      });

      await t.step("health --json shows protocol, mechanism and user, never the password", async () => {
        const result = await cli(["health", "--json"]);
        const report = JSON.parse(result.stdout);
        assert.equal(report.checks[0].status, "ok");
        assert.equal(report.connection.protocol, "sasl_ssl");
        assert.equal(report.connection.mechanism, "scram-sha-512");
        assert.equal(report.connection.username, "churnctl");
        assert.equal(report.connection.ca, secure.CHURNCTL_TLS_CA);
        assert.ok(!/password/i.test(JSON.stringify(report.connection)));
      });

      await t.step("debug and JSON logs of every command still carry no password", async () => {
        for (const args of [["setup"], ["health", "--json"], ["summary", "--since", "1h"]]) {
          for (const format of ["text", "json"]) {
            const result = await cli([...args, "--log-level", "debug", "--log-format", format]);
            assert.equal(result.code, 0, `${args.join(" ")} ${format}: ${result.stderr}`);
          }
        }
        // A failed login logged at debug level by kafkajs itself, as JSON lines.
        const failed = await cli(["setup", "--log-level", "debug", "--log-format", "json"], {
          CHURNCTL_SASL_PASSWORD: wrongPassword,
        });
        assert.equal(failed.code, 1);
        assert.match(failed.stderr, /kafkajs/, "kafkajs's own lines are logged at debug level");
        for (const line of failed.stderr.trim().split("\n")) JSON.parse(line);

        const produce = await cli(["produce", "--mode", "batch", "--input", DATA_FILE, "--restart"].concat(
          ["--log-level", "debug", "--log-format", "json"],
        ));
        assert.equal(produce.code, 0, produce.stderr);
        const consume = await cli(["consume", "--mode", "batch", "--timeout-ms", "2000"].concat(
          ["--log-level", "debug", "--log-format", "json"],
        ));
        assert.equal(consume.code, 0, consume.stderr);
        assert.match(consume.stderr, /kafkajs/, "kafkajs's own lines are logged at debug level");
        for (const line of [produce, consume].flatMap((run) => run.stderr.trim().split("\n"))) JSON.parse(line);
      });

      await t.step("no output, log, report or state file contains a password", async () => {
        assert.ok(runs.length > 20, `only ${runs.length} runs`);
        for (const marker of [password, wrongPassword]) {
          for (const { args, result } of runs) {
            assert.ok(!result.stdout.includes(marker), `stdout of ${args.join(" ")} shows a password`);
            assert.ok(!result.stderr.includes(marker), `stderr of ${args.join(" ")} shows a password`);
          }
          const files = [...await filesUnder(stateDir), ...await filesUnder(reportsDir)];
          assert.ok(files.some((file) => file.endsWith("produce-checkpoint.json")), files.join(", "));
          assert.ok(files.some((file) => file.includes("consume-")), files.join(", "));
          for (const file of files) {
            assert.ok(!(await Deno.readTextFile(file)).includes(marker), `${file} contains a password`);
          }
        }
      });

      await t.step({
        name: "state files are owner-only: checkpoint 0600 in a 0700 folder",
        ignore: Deno.build.os === "windows",
        fn: async () => {
          assert.equal(await modeOf(stateDir), 0o700);
          assert.equal(await modeOf(join(stateDir, "produce-checkpoint.json")), 0o600);
        },
      });
    } finally {
      // Only a broker this test started is stopped; one a developer left running stays.
      if (up?.outcome === "started") await brokerDown({ port: PORT, stateDir: STATE_DIR });
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
