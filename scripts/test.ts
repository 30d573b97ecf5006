/**
 * `deno task test`: the whole suite, as CI and a new user run it.
 *
 * 1. `deno task check` (fmt, lint, type check), and the optional test tools
 *    (Chromium, docker-compose) from Debian's packages where it may install them;
 * 2. a broker: uses one that already answers on CHURNCTL_TEST_BROKERS (default
 *    127.0.0.1:19092), otherwise starts the project's local Kafka and remembers
 *    to stop it;
 * 3. every Deno test under tests/ (unit, integration against the real broker,
 *    end-to-end CLI runs), then the Python model parity test;
 * 4. stops the broker it started, also on Ctrl+C, and prints
 *    `tests: N passed, N failed, N skipped`.
 *
 * Extra arguments are passed to `deno test` (e.g. a file or `--filter`).
 *
 * @module
 */
import { probeBroker } from "../src/kafka/admin.ts";

const root = new URL("../", import.meta.url).pathname;
const brokers = (Deno.env.get("CHURNCTL_TEST_BROKERS") ?? "127.0.0.1:19092").split(",");
const deno = Deno.execPath();
// The broker this runner starts listens where the tests will look for it.
const brokerEnv = { CHURNCTL_BROKER_PORT: brokers[0].split(":").pop()! };

/** Runs a command with inherited output; returns its exit code. */
async function step(title: string, command: string, args: string[], env?: Record<string, string>): Promise<number> {
  console.error(`\n== ${title}: ${[command, ...args].join(" ")}`);
  const { code } = await new Deno.Command(command, { args, cwd: root, env, stdin: "null" }).spawn().status;
  return code;
}

/** Counts testcases in a JUnit report: deno's own summary line is not the `N passed, N failed` CI reads. */
async function junitCounts(path: string): Promise<{ passed: number; failed: number; skipped: number }> {
  const xml = await Deno.readTextFile(path).catch(() => "");
  const cases = xml.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? [];
  let failed = 0, skipped = 0;
  for (const item of cases) {
    if (/<failure|<error/.test(item)) failed++;
    else if (/<skipped/.test(item)) skipped++;
  }
  return { passed: cases.length - failed - skipped, failed, skipped };
}

async function main(): Promise<number> {
  const extra = Deno.args;
  if (await step("static checks", deno, ["task", "check"]) !== 0) {
    console.error("tests: 0 passed, 1 failed (deno task check is not clean)");
    return 1;
  }
  // Optional: without them the screenshot and compose-validation tests skip with a reason.
  await step("optional test tools", "bash", ["scripts/ensure_test_tools.sh"]);
  const probe = await probeBroker({ brokers, clientId: "churnctl-test", connectTimeoutMs: 2000 }, 3000);
  let startedBroker = false;
  if (probe.ok) {
    console.error(`\n== broker: using the one already answering at ${brokers.join(",")} (${probe.rttMs} ms)`);
  } else {
    if (await step("broker", deno, ["task", "broker", "up"], brokerEnv) !== 0) {
      console.error("tests: 0 passed, 1 failed (could not start the local broker)");
      return 1;
    }
    startedBroker = true;
  }
  const stopBroker = async () => {
    if (startedBroker) {
      startedBroker = false;
      await step("broker", deno, ["task", "broker", "down"], brokerEnv);
    }
  };
  const onSignal = () => stopBroker().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const junit = `${root}.churnctl/test-results.xml`;
    await Deno.mkdir(`${root}.churnctl`, { recursive: true });
    await Deno.remove(junit).catch(() => {});
    const testCode = await step("tests", deno, [
      "test",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys",
      "--allow-ffi",
      `--junit-path=${junit}`,
      ...(extra.length > 0 ? extra : ["tests/"]),
    ], { CHURNCTL_TEST_BROKERS: brokers.join(",") });
    const counts = await junitCounts(junit);
    let parityFailed = 0;
    if (extra.length === 0) {
      const parityCode = await step("model parity (Python)", "bash", ["models/train/train.sh", "--parity"]);
      if (parityCode === 0) counts.passed++;
      else parityFailed = 1;
    }
    counts.failed += parityFailed;
    if (testCode !== 0 && counts.failed === 0) counts.failed = 1;
    console.error(`\ntests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
    return counts.failed === 0 && testCode === 0 ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await stopBroker();
  }
}

Deno.exit(await main());
