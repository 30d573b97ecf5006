import assert from "node:assert/strict";
import { createLogger, registerSecret } from "../src/log.ts";
import { runCli, topicEnv, uniqueTopics } from "./support.ts";

/** Parses each non-empty line of `text` as one JSON log object, failing with the line that is not. */
function jsonLines(text: string, where: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.trim() !== "").map((line) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      assert.fail(`${where}: not a JSON line: ${line}`);
    }
    assert.ok(value !== null && typeof value === "object" && !Array.isArray(value), `${where}: ${line}`);
    const entry = value as Record<string, unknown>;
    assert.ok(!Number.isNaN(Date.parse(String(entry.time))), `${where}: no time in ${line}`);
    assert.match(String(entry.level), /^(debug|info|warn|error)$/, `${where}: ${line}`);
    assert.equal(typeof entry.component, "string", `${where}: ${line}`);
    assert.equal(typeof entry.msg, "string", `${where}: ${line}`);
    return entry;
  });
}

Deno.test("structured logs", async (t) => {
  await t.step("log json writes one object per line, even when values hold newlines", () => {
    const lines: string[] = [];
    const log = createLogger({
      format: "json",
      level: "debug",
      component: "consumer",
      write: (line) => lines.push(line),
    });
    log.info("batch committed", { topic: "raw", partition: 2, offsets: "10-19", count: 10 });
    log.warn("multi\nline", { detail: "a\nb" });
    log.child("http").debug("scrape");
    assert.equal(lines.length, 3);
    assert.ok(lines.every((line) => !line.includes("\n")));
    const [first, second, third] = jsonLines(lines.join("\n"), "unit");
    assert.deepEqual({ ...first, time: undefined }, {
      time: undefined,
      level: "info",
      component: "consumer",
      msg: "batch committed",
      topic: "raw",
      partition: 2,
      offsets: "10-19",
      count: 10,
    });
    assert.equal(second.detail, "a\nb");
    assert.equal(third.component, "http");
  });

  await t.step("log masks a registered secret in messages and fields", () => {
    const marker = `unit-secret-${crypto.randomUUID()}`;
    registerSecret(marker);
    const lines: string[] = [];
    const log = createLogger({ format: "json", write: (line) => lines.push(line) });
    log.error(`login with ${marker} failed`, { password: marker, nested: { again: marker } });
    assert.equal(lines.length, 1);
    assert.ok(!lines[0].includes(marker), lines[0]);
    assert.equal(JSON.parse(lines[0]).password, "***");
  });

  await t.step("log of real runs: every stderr line is JSON and the SASL password never appears", async () => {
    const marker = `sasl-marker-${crypto.randomUUID()}`;
    const topics = uniqueTopics("logs");
    const env = {
      ...topicEnv(topics),
      CHURNCTL_SECURITY_PROTOCOL: "sasl_plaintext",
      CHURNCTL_SASL_USERNAME: "churnctl-log-test",
      CHURNCTL_SASL_PASSWORD: marker,
      CHURNCTL_LOG_FORMAT: "json",
    };
    const runs = [
      ["health", "--log-level", "debug", "--timeout-ms", "3000"],
      ["setup", "--log-level", "debug", "--log-format", "json"],
      ["consume", "--mode", "batch", "--timeout-ms", "1000", "--log-level", "debug"],
      ["setup", "--brokers", "not-an-address"],
    ];
    let logged = 0;
    let refused = 0;
    for (const args of runs) {
      const result = await runCli(args, { env });
      const where = `churnctl ${args.join(" ")}`;
      assert.ok(!result.stdout.includes(marker), `${where}: password on stdout`);
      assert.ok(!result.stderr.includes(marker), `${where}: password on stderr`);
      const entries = jsonLines(result.stderr, where);
      logged += entries.length;
      if (/authentication failed|SASL/i.test(result.stdout + result.stderr)) refused++;
      assert.notEqual(result.code, 0, `${where} should fail against a broker without SASL`);
    }
    // Guards against a vacuous pass: the runs did log, and did reach the broker with the secret.
    assert.ok(logged >= 4, `only ${logged} log lines in ${runs.length} runs`);
    assert.ok(refused >= 2, `only ${refused} runs reached SASL authentication`);
  });
});
