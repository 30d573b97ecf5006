/**
 * `deno task compile`: its checks before deno compile runs (always), and the
 * built executable itself, run alone from an empty directory (only where a
 * base binary is available: DENORT_BIN or Deno's cache; skipped otherwise).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bakedPermissions,
  compileArgs,
  denoCacheDir,
  findBaseBinary,
  hostTarget,
  outputPath,
  summarizeCompileError,
} from "../../scripts/compile.ts";
import { ROOT } from "../support.ts";

const decoder = new TextDecoder();
const CARD = JSON.parse(await Deno.readTextFile(join(ROOT, "models", "churn.model.json"))) as { version: string };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const output = await new Deno.Command(command, {
    args,
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) } as Run;
}

/** The environment without DENORT_BIN, with an empty Deno cache: no base binary anywhere. */
async function noBaseEnv(): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  const denoDir = await Deno.makeTempDir({ prefix: "churnctl-empty-deno-dir-" });
  const env = Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([key]) => key !== "DENORT_BIN"));
  return { env: { ...env, DENO_DIR: denoDir }, cleanup: () => Deno.remove(denoDir, { recursive: true }) };
}

/** stderr lines the compile script wrote (`deno task` itself echoes one "Task compile …" line first). */
function scriptLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.trim() !== "" && !/^Task compile /.test(line));
}

Deno.test("compile script", async (t) => {
  await t.step("compile task without a base binary fails with one line and exit 1", async () => {
    const { env, cleanup } = await noBaseEnv();
    try {
      const quiet = await run(Deno.execPath(), ["task", "-q", "compile"], { env: { ...env, DENORT_BIN: "" } });
      assert.equal(quiet.code, 1, quiet.stderr);
      const lines = quiet.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `expected one line, got:\n${quiet.stderr}`);
      assert.match(lines[0], /^error: compile: no base binary for deno compile \(denort, Deno [\d.]+, [\w-]+\)/);
      assert.match(lines[0], /set DENORT_BIN=\/path\/to\/denort/);
      assert.match(lines[0], /denort-[\w-]+\.zip/);
      assert.doesNotMatch(quiet.stderr, /Stack backtrace|at .*\.ts:\d+/);

      const plain = await run(Deno.execPath(), ["task", "compile"], { env });
      assert.equal(plain.code, 1);
      assert.deepEqual(scriptLines(plain.stderr), lines);
    } finally {
      await cleanup();
    }
  });

  await t.step("compile task names a DENORT_BIN that does not exist", async () => {
    const missing = join(await Deno.makeTempDir(), "no-such-denort");
    const result = await run(Deno.execPath(), ["task", "-q", "compile"], { env: { DENORT_BIN: missing } });
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trimEnd().split("\n"), [
      `error: compile: DENORT_BIN=${missing} does not exist (point it at the unzipped denort binary)`,
    ]);
  });

  await t.step("compile task rejects a zipped DENORT_BIN", async () => {
    const zip = await Deno.makeTempFile({ suffix: ".zip" });
    await Deno.writeFile(zip, new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]));
    const result = await run(Deno.execPath(), ["task", "-q", "compile"], { env: { DENORT_BIN: zip } });
    await Deno.remove(zip);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, /is a zip; unzip it/);
  });

  await t.step("compile task rejects a DENORT_BIN for another platform", async () => {
    const exe = await Deno.makeTempFile();
    await Deno.writeFile(exe, new TextEncoder().encode("MZ this is not an ELF file"));
    const result = await run(Deno.execPath(), ["task", "-q", "compile"], { env: { DENORT_BIN: exe } });
    await Deno.remove(exe);
    if (hostTarget().includes("windows")) return; // MZ is right there; nothing to reject
    assert.equal(result.code, 1);
    assert.match(result.stderr.trimEnd(), /^error: compile: DENORT_BIN=\S+ is not a \w+ executable for [\w-]+$/);
  });

  await t.step("compile task rejects an unknown --target with exit 2", async () => {
    const result = await run(Deno.execPath(), ["task", "-q", "compile", "--target", "riscv-none"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr.trimEnd(), /^error: compile: unknown --target 'riscv-none' \(one of: .*x86_64-/);
  });

  await t.step("compile args embed the model, bake the churnctl task's permissions and self-extract", async () => {
    const target = "x86_64-unknown-linux-gnu";
    const args = await compileArgs(target, "out");
    const includes = args.flatMap((arg, i) => args[i - 1] === "--include" ? [arg] : []);
    const excludes = args.flatMap((arg, i) => args[i - 1] === "--exclude" ? [arg] : []);
    assert.deepEqual(includes, ["models/churn.onnx", "models/churn.model.json"]);
    for (const flag of ["--self-extracting", "--unstable-cron"]) assert.ok(args.includes(flag), flag);
    assert.deepEqual(args.slice(args.indexOf("--target"), args.indexOf("--target") + 2), ["--target", target]);
    const permissions = await bakedPermissions();
    assert.ok(permissions.includes("--allow-ffi"), "the onnxruntime addon needs --allow-ffi");
    assert.ok(permissions.includes("--v8-flags=--max-semi-space-size=8"), "the task's V8 heap setting is baked in");
    assert.deepEqual(args.filter((arg) => /^--((allow|deny)-|v8-flags=)/.test(arg)), permissions);
    assert.equal(args.at(-1), "main.ts");
    assert.ok(excludes.some((path) => path.endsWith("bintrees/test")), "bintrees/test crashes deno compile 2.9");
    assert.ok(excludes.some((path) => path.endsWith("napi-v3/darwin/arm64")));
    assert.ok(!excludes.some((path) => path.endsWith("napi-v3/linux/x64")), "the target's own addon must stay");
    const windows = await compileArgs("x86_64-pc-windows-msvc", "out");
    assert.ok(windows.some((arg) => arg.endsWith("napi-v3/linux/x64")));
    assert.ok(!windows.some((arg) => arg.endsWith("napi-v3/win32/x64")));
  });

  await t.step("compile output is dist/churnctl here and named by target elsewhere", () => {
    assert.equal(outputPath("x86_64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"), join(ROOT, "dist", "churnctl"));
    assert.equal(
      outputPath("x86_64-pc-windows-msvc", "x86_64-unknown-linux-gnu"),
      join(ROOT, "dist", "churnctl-x86_64-pc-windows-msvc.exe"),
    );
  });

  await t.step("compile error summary keeps the headline and the cause in one line", () => {
    const stderr = [
      "Check main.ts",
      "Compile main.ts to churnctl",
      "\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file 'churnctl.tmp-1'",
      "",
      "Caused by:",
      "    0: Setting up base binary.",
      "    1: error sending request for url: client error (Connect): dns error",
      "    2: failed to lookup address information: Name or service not known",
      "",
      "Stack backtrace:",
      "   0: <unknown>",
    ].join("\n");
    const summary = summarizeCompileError(stderr);
    assert.ok(!summary.includes("\n"));
    assert.equal(
      summary,
      "Writing deno compile executable to temporary file 'churnctl.tmp-1': Setting up base binary. " +
        "(failed to lookup address information: Name or service not known)",
    );
  });
});

const baseProblem = await findBaseBinary(hostTarget(), Deno.env.toObject(), await denoCacheDir()).then(
  () => undefined,
  (error: Error) => error.message,
);
if (baseProblem) {
  console.log(`compiled churnctl: skipped, no deno compile base binary here (${baseProblem})`);
}

Deno.test({
  name: "compiled churnctl",
  ignore: baseProblem !== undefined,
  async fn(t) {
    const built = await run(Deno.execPath(), ["task", "-q", "compile"]);
    assert.equal(built.code, 0, `deno task compile failed:\n${built.stderr}`);
    const dir = await Deno.makeTempDir({ prefix: "churnctl-alone-" });
    const binary = join(dir, "churnctl");
    await Deno.copyFile(outputPath(hostTarget()), binary);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["churnctl"]);
    // Nothing from the repository may be reachable: no DATA_FILE, no models/, no node_modules.
    const env = { HOME: dir, PATH: "/usr/bin:/bin" };
    try {
      await t.step("compiled churnctl prints its, Deno's and the embedded model's versions", async () => {
        const result = await run(binary, ["--version"], { cwd: dir, env });
        assert.equal(result.code, 0, result.stderr);
        const lines = result.stdout.trimEnd().split("\n");
        assert.match(lines[0], /^churnctl \d+\.\d+\.\d+/);
        assert.match(lines[1], /^deno \d+\.\d+\.\d+/);
        assert.equal(lines[2], `model ${CARD.version}`);
      });

      await t.step("compiled churnctl loads the embedded model and native library in health", async () => {
        const result = await run(binary, ["health", "--json", "--brokers", "127.0.0.1:1", "--timeout-ms", "1000"], {
          cwd: dir,
          env,
        });
        assert.equal(result.code, 1, "the broker is down, so health must say unhealthy");
        const report = JSON.parse(result.stdout) as {
          checks: { name: string; status: string; detail: string; data?: { version?: string } }[];
        };
        const model = report.checks.find((check) => check.name === "model");
        assert.ok(model, `no model check in ${result.stdout}`);
        assert.equal(model.status, "ok", `model check: ${model.detail}`);
        assert.equal(model.data?.version, CARD.version);
        assert.equal(report.checks.find((check) => check.name === "broker")?.status, "fail");
      });

      await t.step("compiled churnctl extracts beside itself", () => {
        const names = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
        assert.deepEqual(names, [".churnctl", "churnctl"]);
      });

      await t.step("compiled churnctl runs a small dry-run produce", async () => {
        const help = await run(binary, ["produce", "--help"], { cwd: dir, env });
        assert.equal(help.code, 0, help.stderr);
        if (!help.stdout.includes("--synthetic")) {
          // The producer has no --synthetic yet: its help is what can be run without data.
          assert.match(help.stdout, /Usage: churnctl produce/);
          return;
        }
        const result = await run(binary, ["produce", "--dry-run", "--synthetic", "--max-events", "5"], {
          cwd: dir,
          env,
        });
        assert.equal(result.code, 0, result.stderr);
        assert.ok(result.stdout.trim().length > 0, "a dry run prints what it would send");
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
