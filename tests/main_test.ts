import assert from "node:assert/strict";
import { CLI_PERMISSIONS, runCli } from "./support.ts";

/** A user mistake: exit 2 and exactly one line on stderr, no stack trace. */
function assertUsageError(result: { code: number; stderr: string }, pattern: RegExp): void {
  assert.equal(result.code, 2, `exit code, stderr: ${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected, got: ${result.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/);
}

Deno.test("churnctl command line", async (t) => {
  await t.step("churnctl rejects an unknown command", async () => {
    assertUsageError(await runCli(["frobnicate"]), /unknown command 'frobnicate'/);
  });
  await t.step("churnctl rejects an unknown global flag", async () => {
    assertUsageError(await runCli(["--frobnicate"]), /unknown flag '--frobnicate'/);
  });
  for (const command of ["setup", "produce", "consume", "summary", "health", "schedule"]) {
    await t.step(`churnctl ${command} rejects an unknown flag`, async () => {
      assertUsageError(
        await runCli([command, "--no-such-flag"]),
        new RegExp(`${command}: unknown flag --no-such-flag`),
      );
    });
    await t.step(`churnctl ${command} --help prints its usage`, async () => {
      const result = await runCli([command, "--help"]);
      assert.equal(result.code, 0);
      assert.match(result.stdout, new RegExp(`^Usage: churnctl ${command}`));
      assert.match(result.stdout, /CHURNCTL_LOG_LEVEL/);
    });
  }
  await t.step("churnctl rejects a bad value with the flag's name", async () => {
    assertUsageError(await runCli(["health", "--timeout-ms", "soon"]), /--timeout-ms: expected a whole number/);
  });
  await t.step("churnctl rejects a bad value from the environment with the variable's name", async () => {
    assertUsageError(
      await runCli(["health"], { env: { CHURNCTL_LOG_FORMAT: "xml" } }),
      /CHURNCTL_LOG_FORMAT: expected one of text, json/,
    );
  });
  await t.step("churnctl rejects a broker address that is not host:port", async () => {
    assertUsageError(await runCli(["health", "--brokers", "nohost"]), /'nohost' is not host:port/);
  });
  await t.step("churnctl --help lists every command", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    for (const command of ["setup", "produce", "consume", "summary", "health", "schedule"]) {
      assert.match(result.stdout, new RegExp(`\\n  ${command} `));
    }
  });
  await t.step("churnctl --version names the tool, Deno and the model", async () => {
    const result = await runCli(["--version"]);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^churnctl \d+\.\d+\.\d+\ndeno \d+\.\d+\.\d+/);
    assert.match(result.stdout, /\nmodel sha256:[0-9a-f]{12}/);
  });
});

Deno.test("deno task churnctl runs with the flags child processes get", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const taskFlags = (config.tasks.churnctl as string).split(/\s+/).filter((word) => word.startsWith("--"));
  assert.deepEqual([...taskFlags].sort(), [...CLI_PERMISSIONS].sort());
});
