/**
 * The soak's child processes: `churnctl <command>` run from source as a user
 * runs it, output captured to a log file, killable by pid.
 *
 * @module
 */
import { join } from "node:path";
import { CHILD_PERMISSIONS, spawnChurnctl } from "../../src/schedule/child.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The flags `deno task churnctl` runs with (one list, in src/schedule/child.ts). */
const CLI_PERMISSIONS = CHILD_PERMISSIONS;

/** A running `churnctl` child. */
export interface Child {
  /** Process id (for SIGKILL). */
  pid: number;
  /** Exit code once it ends. */
  status: Promise<Deno.CommandStatus>;
  /** stdout text once it ends (the `--json` summary). */
  stdout: Promise<string>;
  /** Where its stderr goes. */
  logFile: string;
}

/** Starts `churnctl <args>`; stderr to `logFile`, stdout kept for the caller. */
export async function startCli(args: string[], env: Record<string, string>, logFile: string): Promise<Child> {
  const child = spawnChurnctl(args, { env: { NO_COLOR: "1", ...env }, stderr: "piped", cwd: ROOT });
  const file = await Deno.open(logFile, { write: true, create: true, append: true });
  const logged = child.stderr.pipeTo(file.writable).catch(() => {});
  const stdout = new Response(child.stdout).text().catch(() => "");
  const status = child.status.then(async (status) => {
    await logged;
    return status;
  });
  return { pid: child.pid, status, stdout, logFile };
}

/** Runs `churnctl <args>` to the end; returns exit code and stdout. */
export async function runCliToEnd(
  args: string[],
  env: Record<string, string>,
  logFile: string,
): Promise<{ code: number; stdout: string }> {
  const child = await startCli(args, env, logFile);
  const [status, stdout] = await Promise.all([child.status, child.stdout]);
  return { code: status.code, stdout };
}

/** Sends SIGKILL, ignoring a process that is already gone. */
export function killHard(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !(error instanceof TypeError)) throw error;
  }
}

/** Sends SIGTERM, ignoring a process that is already gone. */
export function terminate(pid: number): void {
  try {
    Deno.kill(pid, "SIGTERM");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) && !(error instanceof TypeError)) throw error;
  }
}

/** Whether `consume --help` offers `--exactly-once` (the mode lands separately). */
export async function consumerSupportsExactlyOnce(): Promise<boolean> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLI_PERMISSIONS, join(ROOT, "main.ts"), "consume", "--help"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(output.stdout).includes("--exactly-once");
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
