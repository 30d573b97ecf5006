/**
 * `deno task compile [--target <triple>] [--download]`: builds churnctl as one
 * executable with `deno compile` — the model and its card embedded, the
 * permissions of the `churnctl` task and `--unstable-cron` baked in, and
 * `--self-extracting` so the onnxruntime native addon finds
 * `libonnxruntime.so.1` beside it on a real file system (the in-memory file
 * system of a plain compiled binary can hand `dlopen` the addon, not its
 * neighbours).
 *
 * `deno compile` needs a runtime base binary (denort) of the same Deno version.
 * It normally downloads it; where that download is unreachable the base comes
 * from `DENORT_BIN` (the unzipped denort) or from Deno's cache
 * (`<DENO_DIR>/dl/release/v<version>/denort-<target>.zip`). Without either,
 * this script says so in one line and exits 1 instead of letting the download
 * fail with a stack trace; `--download` lets `deno compile` try the download.
 *
 * Output: `dist/churnctl` for this machine's platform, `dist/churnctl-<target>`
 * (`.exe` on Windows) for another. A build for this platform is run once with
 * `--version` to prove it is churnctl and that the embedded model loads.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ChurnctlError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine, UsageError } from "../src/errors.ts";

/** Targets `deno compile --target` accepts (Deno 2.9). */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
] as const;

/** One of {@link TARGETS}. */
export type Target = typeof TARGETS[number];

/** Files churnctl reads at run time (modules it imports are embedded without being named). */
export const EMBEDDED_FILES = ["models/churn.onnx", "models/churn.model.json"];

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const HELP = `Usage: deno task compile [--target <triple>] [--download]

Builds churnctl as one executable in dist/ with deno compile (model embedded,
permissions and --unstable-cron baked in, --self-extracting).

Options:
  --target <triple>  platform to build for (default: this machine's):
                     ${TARGETS.join(", ")}
  --download         let deno compile download the base binary itself
                     instead of requiring DENORT_BIN or a cached one
  -h, --help         show this help

Environment:
  DENORT_BIN         path to the unzipped denort base binary of Deno ${Deno.version.deno}
                     for the target (asset denort-<target>.zip of Deno's release)
  DENO_DIR           Deno's cache directory, where a downloaded base is kept
`;

/** Where the base binary for `deno compile` comes from. */
export interface BaseBinary {
  /** `env`: `DENORT_BIN`; `cache`: a base Deno downloaded before; `download`: deno compile fetches it. */
  source: "env" | "cache" | "download";
  /** The file, when there is one. */
  path?: string;
}

/** The base binary is missing or unusable; the message is the one line the user sees. */
export class BaseBinaryError extends ChurnctlError {
  constructor(message: string) {
    super(message, EXIT_FAILURE);
    this.name = "BaseBinaryError";
  }
}

/** The target this Deno runs on, e.g. `x86_64-unknown-linux-gnu`. */
export function hostTarget(): Target {
  return parseTarget(Deno.build.target);
}

/** Checks `value` is a target `deno compile` accepts; throws `UsageError` otherwise. */
export function parseTarget(value: string): Target {
  if ((TARGETS as readonly string[]).includes(value)) return value as Target;
  throw new UsageError(`compile: unknown --target '${value}' (one of: ${TARGETS.join(", ")})`);
}

/** Where the executable for `target` is written. */
export function outputPath(target: Target, host: Target = hostTarget()): string {
  const name = target === host ? "churnctl" : `churnctl-${target}`;
  return join(REPO_ROOT, "dist", target.includes("windows") ? `${name}.exe` : name);
}

/** Deno's cache directory as `deno info` reports it (honours `DENO_DIR`). */
export async function denoCacheDir(env: Record<string, string | undefined> = Deno.env.toObject()): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    env: definedOnly(env),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new BaseBinaryError(`compile: 'deno info --json' failed: ${firstLine(output.stderr)}`);
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { denoDir: string }).denoDir;
}

/** Where `deno compile` keeps the base binary it downloaded for `target` (stable releases). */
export function cachedBasePath(cacheDir: string, target: Target, denoVersion = Deno.version.deno): string {
  return join(cacheDir, "dl", "release", `v${denoVersion}`, `denort-${target}.zip`);
}

/**
 * Finds the base binary for `target`: `DENORT_BIN` when set (it must exist and
 * be an executable for that platform), else the cached download. Throws
 * `BaseBinaryError` with one line saying what is missing and how to provide it.
 */
export async function findBaseBinary(
  target: Target,
  env: Record<string, string | undefined>,
  cacheDir: string,
): Promise<BaseBinary> {
  const fromEnv = env.DENORT_BIN;
  if (fromEnv !== undefined && fromEnv !== "") {
    await checkExecutable(fromEnv, target);
    return { source: "env", path: fromEnv };
  }
  const cached = cachedBasePath(cacheDir, target);
  if (await isFile(cached)) return { source: "cache", path: cached };
  throw new BaseBinaryError(
    `compile: no base binary for deno compile (denort, Deno ${Deno.version.deno}, ${target}): ` +
      `download denort-${target}.zip from Deno's v${Deno.version.deno} GitHub release, unzip it and ` +
      `set DENORT_BIN=/path/to/denort (or put the zip at ${cached}; --download lets deno fetch it where it can)`,
  );
}

const MAGIC = {
  elf: [0x7f, 0x45, 0x4c, 0x46],
  pe: [0x4d, 0x5a],
  zip: [0x50, 0x4b, 0x03, 0x04],
  machO: [[0xcf, 0xfa, 0xed, 0xfe], [0xca, 0xfe, 0xba, 0xbe]],
};
const ELF_MACHINE: Record<string, number> = { x86_64: 0x3e, aarch64: 0xb7 };

/** Rejects a `DENORT_BIN` that is missing, a zip, or built for another platform — deno compile would embed it anyway. */
async function checkExecutable(path: string, target: Target): Promise<void> {
  let head: Uint8Array;
  try {
    using file = await Deno.open(path, { read: true });
    if (!(await file.stat()).isFile) throw new BaseBinaryError(`compile: DENORT_BIN=${path} is not a file`);
    head = new Uint8Array(20);
    const read = await file.read(head);
    head = head.subarray(0, read ?? 0);
  } catch (error) {
    if (error instanceof BaseBinaryError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      throw new BaseBinaryError(`compile: DENORT_BIN=${path} does not exist (point it at the unzipped denort binary)`);
    }
    throw new BaseBinaryError(`compile: cannot read DENORT_BIN=${path}: ${oneLine(error)}`);
  }
  const startsWith = (magic: number[]) => magic.every((byte, i) => head[i] === byte);
  if (startsWith(MAGIC.zip)) {
    throw new BaseBinaryError(
      `compile: DENORT_BIN=${path} is a zip; unzip it and point DENORT_BIN at the denort inside`,
    );
  }
  const os = target.includes("linux") ? "linux" : target.includes("darwin") ? "macOS" : "Windows";
  const fits = os === "linux"
    ? startsWith(MAGIC.elf) && head[18] === ELF_MACHINE[target.split("-")[0]]
    : os === "macOS"
    ? MAGIC.machO.some(startsWith)
    : startsWith(MAGIC.pe);
  if (!fits) {
    throw new BaseBinaryError(`compile: DENORT_BIN=${path} is not a ${os} executable for ${target}`);
  }
}

/** Permission and V8 flags of the `churnctl` task in deno.json, so the binary gets exactly what `deno task churnctl` gets. */
export async function bakedPermissions(root = REPO_ROOT): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))) as { tasks?: Record<string, unknown> };
  const task = config.tasks?.churnctl;
  const command = typeof task === "string" ? task : (task as { command?: string } | undefined)?.command;
  const flags = (command ?? "").split(/\s+/).filter((word) => /^--((allow|deny)-|v8-flags=)/.test(word));
  if (flags.length === 0) {
    throw new ChurnctlError("compile: the 'churnctl' task in deno.json names no --allow-* flags to bake in");
  }
  return flags;
}

const ONNX_PLATFORM: Record<Target, string> = {
  "x86_64-unknown-linux-gnu": "linux/x64",
  "aarch64-unknown-linux-gnu": "linux/arm64",
  "x86_64-apple-darwin": "darwin/x64",
  "aarch64-apple-darwin": "darwin/arm64",
  "x86_64-pc-windows-msvc": "win32/x64",
  "aarch64-pc-windows-msvc": "win32/arm64",
};

/**
 * Package folders that are never loaded at run time but break `deno compile`:
 * Deno 2.9 overflows its stack while embedding bintrees' 2 MB `test/perf/100k`
 * data file (bintrees comes in through prom-client → tdigest). Known upstream
 * as a 2.9 regression (denoland/deno#36746); excluding the folder avoids it.
 */
export const UNNEEDED_PACKAGE_DIRS: Readonly<Record<string, string[]>> = {
  bintrees: ["test"],
};

/**
 * Paths under node_modules to leave out of the binary: the test folders above,
 * and onnxruntime-node's native libraries for the five platforms other than
 * the target (it ships six, ~200 MB in all).
 */
export async function excludedPaths(target: Target, root = REPO_ROOT): Promise<string[]> {
  const store = join(root, "node_modules", ".deno");
  const paths: string[] = [];
  for await (const entry of readDirOrEmpty(store)) {
    if (!entry.isDirectory) continue;
    const name = entry.name.slice(0, entry.name.lastIndexOf("@")).replace("+", "/");
    const packageDir = join(store, entry.name, "node_modules", name);
    for (const sub of UNNEEDED_PACKAGE_DIRS[name] ?? []) {
      if (await isDirectory(join(packageDir, sub))) paths.push(join(packageDir, sub));
    }
    if (name !== "onnxruntime-node") continue;
    for (const platform of Object.values(ONNX_PLATFORM)) {
      const dir = join(packageDir, "bin", "napi-v3", platform);
      if (platform !== ONNX_PLATFORM[target] && await isDirectory(dir)) paths.push(dir);
    }
  }
  return paths;
}

/** The `deno compile` arguments that build churnctl for `target` into `output`. */
export async function compileArgs(target: Target, output: string, root = REPO_ROOT): Promise<string[]> {
  const args = ["compile", "--output", output, "--target", target, "--unstable-cron", "--self-extracting"];
  for (const file of EMBEDDED_FILES) args.push("--include", file);
  for (const dir of await excludedPaths(target, root)) args.push("--exclude", relative(root, dir));
  args.push(...await bakedPermissions(root), "main.ts");
  return args;
}

/** Turns deno compile's multi-line error (with its cause chain and backtrace) into one line. */
export function summarizeCompileError(stderr: string): string {
  const lines = stripAnsi(stderr).split("\n").map((line) => line.trim()).filter(Boolean);
  const errorAt = lines.findIndex((line) => line.startsWith("error:"));
  if (errorAt < 0) return lines.at(-1) ?? "no output";
  const headline = lines[errorAt].replace(/^error:\s*/, "");
  const causes = lines.slice(errorAt + 1)
    .filter((line) => /^\d+:\s/.test(line) && !/^\d+:\s*<unknown>$/.test(line))
    .map((line) => line.replace(/^\d+:\s*/, ""));
  return causes.length > 0 ? `${headline}: ${causes[0]}${causes.length > 1 ? ` (${causes.at(-1)})` : ""}` : headline;
}

/** Builds churnctl; returns the output path. Throws one-line `ChurnctlError`s. */
export async function compile(
  options: { target: Target; download: boolean; env: Record<string, string | undefined> },
): Promise<string> {
  const { target, env } = options;
  const base: BaseBinary = options.download
    ? { source: "download" }
    : await findBaseBinary(target, env, await denoCacheDir(env));
  const output = outputPath(target);
  await Deno.mkdir(dirname(output), { recursive: true });
  console.error(
    `compiling main.ts for ${target} → ${relative(REPO_ROOT, output)} (base: ${base.path ?? "downloaded by deno"})`,
  );
  const result = await new Deno.Command(Deno.execPath(), {
    args: await compileArgs(target, output),
    cwd: REPO_ROOT,
    env: { ...definedOnly(env), NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new ChurnctlError(`compile: deno compile failed: ${summarizeCompileError(decode(result.stderr))}`);
  }
  return output;
}

/**
 * Runs a freshly built binary for this platform with `--version`: proves the
 * base binary really is denort (a full `deno` given as DENORT_BIN builds "fine"
 * but runs the deno CLI) and that the embedded model card is readable.
 */
export async function smokeCheck(binary: string): Promise<string> {
  const result = await new Deno.Command(binary, {
    args: ["--version"],
    cwd: dirname(binary),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const stdout = decode(result.stdout);
  const model = stdout.split("\n").find((line) => line.startsWith("model "));
  if (!result.success || !stdout.startsWith("churnctl ") || !model || model.includes("not available")) {
    throw new ChurnctlError(
      `compile: built ${relative(REPO_ROOT, binary)} but '--version' did not print churnctl's and the model's ` +
        `versions (is DENORT_BIN really denort?): ${oneLine(stdout.trim() || decode(result.stderr).trim())}`,
    );
  }
  return model.replace(/^model\s+/, "");
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], env: Record<string, string | undefined> = Deno.env.toObject()) {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        target: { type: "string" },
        download: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(HELP);
      return EXIT_OK;
    }
    const target = values.target === undefined ? hostTarget() : parseTarget(values.target);
    const output = await compile({ target, download: values.download, env });
    const size = (await Deno.stat(output)).size;
    const built = `${relative(REPO_ROOT, output)} (${(size / 2 ** 20).toFixed(1)} MiB, ${target})`;
    if (target === hostTarget()) {
      // A binary that fails its first run must not be left where it could be shipped.
      const model = await smokeCheck(output).catch(async (error) => {
        await Deno.remove(output).catch(() => {});
        throw error;
      });
      console.log(`built ${built}; it runs and embeds model ${model}`);
    } else {
      console.log(`built ${built}; not run (another platform)`);
    }
    return EXIT_OK;
  } catch (error) {
    if (error instanceof ChurnctlError) {
      console.error(`error: ${oneLine(error)}`);
      return error.exitCode;
    }
    const usage = error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS");
    console.error(`error: compile: ${oneLine(error)}`);
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function* readDirOrEmpty(path: string): AsyncIterable<Deno.DirEntry> {
  try {
    yield* Deno.readDir(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function firstLine(bytes: Uint8Array): string {
  return stripAnsi(decode(bytes)).trim().split("\n")[0] ?? "";
}

function stripAnsi(text: string): string {
  // deno colours its errors unless NO_COLOR is set; strip in case the caller's environment forced colour on.
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
