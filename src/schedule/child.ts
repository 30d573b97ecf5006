/**
 * Running churnctl's own commands as child processes — the way the scheduler
 * runs produce, consume, health and the supervised streaming consumer.
 *
 * Why child processes rather than calling the command modules' `run`: a job
 * then cannot take the scheduler down with it (an out-of-memory batch, a
 * kafkajs client left in a bad state, a signal listener a command installs);
 * its stdout is its own, so a `--json` result is parsed cleanly; a stuck run
 * is stopped with SIGTERM and, after a grace period, SIGKILL; the supervised
 * consumer *has* to be a process to be restarted when it dies; and
 * `src/schedule/` stays below `src/commands/` in the dependency order.
 *
 * The same code works from source and inside the `deno compile` binary:
 * when `Deno.execPath()` is the deno runtime, the child is
 * `deno run <permissions> main.ts …`; otherwise the executable *is* churnctl
 * and takes the command directly.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { oneLine } from "../errors.ts";

/**
 * The flags `deno task churnctl` runs main.ts with: its permissions, and a small V8 young generation
 * (`--max-semi-space-size=8` keeps the consumer's peak RSS about 40 MB lower at no CPU cost; it only
 * works as a start-up flag). Children run with the same; a test ties this list to deno.json.
 */
export const CHILD_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-ffi",
  "--allow-run",
  "--v8-flags=--max-semi-space-size=8",
];

/** How to start churnctl: an executable and the arguments that come before the command. */
export interface Invocation {
  /** Executable path. */
  command: string;
  /** Arguments before churnctl's own. */
  prefix: string[];
}

/** Whether `execPath` is the deno runtime (running from source) rather than a compiled churnctl. */
export function isDenoRuntime(execPath: string): boolean {
  return /^deno(\.exe)?$/i.test(basename(execPath));
}

/** How this process can start churnctl again. */
export function selfInvocation(
  execPath = Deno.execPath(),
  mainUrl = new URL("../../main.ts", import.meta.url),
): Invocation {
  if (!isDenoRuntime(execPath)) return { command: execPath, prefix: [] };
  const main = fileURLToPath(mainUrl);
  const config = join(dirname(main), "deno.json");
  return {
    command: execPath,
    prefix: ["run", ...CHILD_PERMISSIONS, ...(existsSync(config) ? ["--config", config] : []), main],
  };
}

/** The outcome of a child run. */
export interface ChildResult {
  /** Exit code (a signal counts as 128 + its number). */
  code: number;
  /** Whatever the child printed on stdout (its result). */
  stdout: string;
  /** Whether it was stopped by our signal (abort or timeout). */
  stopped: boolean;
}

/** Options of {@link runChurnctl}. */
export interface ChildOptions {
  /** Extra environment (merged into ours). */
  env?: Record<string, string>;
  /** Aborting sends SIGTERM, then SIGKILL after `graceMs`. */
  signal?: AbortSignal;
  /** Hard limit on the run; then it is stopped like an abort. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. @default 15000 */
  graceMs?: number;
  /** How to start churnctl. @default selfInvocation() */
  invocation?: Invocation;
}

/** A function that runs one churnctl command line to its end; jobs take one so tests can give a fake. */
export type ChurnctlRunner = (args: string[], options?: ChildOptions) => Promise<ChildResult>;

/** Spawns `churnctl <args>`: stdout piped (the result), stderr inherited (its log lines join ours). */
export function spawnChurnctl(
  args: string[],
  options: {
    env?: Record<string, string>;
    invocation?: Invocation;
    stdout?: "piped" | "null" | "inherit";
    stderr?: "piped" | "null" | "inherit";
    cwd?: string;
  } = {},
): Deno.ChildProcess {
  const invocation = options.invocation ?? selfInvocation();
  return new Deno.Command(invocation.command, {
    args: [...invocation.prefix, ...args],
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: options.stdout ?? "piped",
    stderr: options.stderr ?? "inherit",
  }).spawn();
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves with the exit status. */
export async function stopChild(child: Deno.ChildProcess, graceMs: number): Promise<Deno.CommandStatus> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    child.status,
    new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), graceMs)),
  ]);
  clearTimeout(timer);
  if (status) return status;
  try {
    child.kill("SIGKILL");
  } catch {
    // Exited between the timeout and the kill.
  }
  return await child.status;
}

/** Runs `churnctl <args>` to its end; see {@link ChildOptions}. */
export const runChurnctl: ChurnctlRunner = async (args, options = {}) => {
  const child = spawnChurnctl(args, { env: options.env, invocation: options.invocation });
  const stdoutText = new Response(child.stdout).text();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    stopChild(child, options.graceMs ?? 15000).catch(() => {});
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(stop, options.timeoutMs);
  try {
    const status = await child.status;
    const stdout = await stdoutText.catch((error) => `(stdout unreadable: ${oneLine(error)})`);
    return { code: status.code, stdout, stopped };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", stop);
  }
};
