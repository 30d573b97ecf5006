/**
 * Shared test support: where the data and the broker are, unique topic
 * names, and running the CLI as a user does (a child process).
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";
import type { ConnectionSettings } from "../src/kafka/client.ts";
import { CHILD_PERMISSIONS, spawnChurnctl } from "../src/schedule/child.ts";

/** The repository root. */
export const ROOT = fromFileUrl(new URL("../", import.meta.url));

/** The shared data set (never committed into the repo). */
export const DATA_FILE = fromFileUrl(new URL("../../shared/data/telco-customer-churn.csv", import.meta.url));

/** Broker the integration tests use: `CHURNCTL_TEST_BROKERS` or the local broker. */
export const TEST_BROKERS = Deno.env.get("CHURNCTL_TEST_BROKERS") ?? "127.0.0.1:19092";

/** Connection settings for tests that talk to the broker through `src/kafka/`. */
export const testConnection: ConnectionSettings = {
  brokers: TEST_BROKERS.split(","),
  clientId: "churnctl-test",
  connectTimeoutMs: 5000,
};

/** Permissions `deno task churnctl` grants; the CLI tests run main.ts with the same (one list, in src/schedule/child.ts). */
export const CLI_PERMISSIONS: readonly string[] = CHILD_PERMISSIONS;

/** Topic names no other test uses, so tests can share one broker. */
export function uniqueTopics(prefix = "t"): { input: string; output: string; deadletter: string; group: string } {
  const id = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  return { input: `${id}.raw`, output: `${id}.predictions`, deadletter: `${id}.deadletter`, group: `${id}-group` };
}

/** Environment that points the CLI at the given topics and the test broker. */
export function topicEnv(topics: ReturnType<typeof uniqueTopics>): Record<string, string> {
  return {
    CHURNCTL_BROKERS: TEST_BROKERS,
    CHURNCTL_INPUT_TOPIC: topics.input,
    CHURNCTL_OUTPUT_TOPIC: topics.output,
    CHURNCTL_DEADLETTER_TOPIC: topics.deadletter,
    CHURNCTL_GROUP: topics.group,
  };
}

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `churnctl <args>` from source as a child process, as a user would. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...CLI_PERMISSIONS, `${ROOT}main.ts`, ...args],
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** Starts `churnctl <args>` in the background (for kill and signal tests). */
export function spawnCli(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return spawnChurnctl(args, { env: { NO_COLOR: "1", ...env }, stderr: "piped", cwd: ROOT });
}

/** A running `churnctl` whose stdout and stderr are collected as they come (for kill and signal tests). */
export class RunningCli {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Deno.CommandStatus>;

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawnCli(args, env);
    const collect = async (stream: ReadableStream<Uint8Array>, into: "stdout" | "stderr") => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) this[into] += text;
    };
    const reading = Promise.all([collect(this.child.stdout, "stdout"), collect(this.child.stderr, "stderr")]);
    this.done = reading.then(() => this.child.status);
  }

  /** Waits until stderr matches `pattern`. */
  async waitFor(pattern: RegExp, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stderr)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} on stderr within ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** True while the process has not exited. */
  async running(): Promise<boolean> {
    const finished = await Promise.race([
      this.done.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 50)),
    ]);
    return !finished;
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGINT"): Promise<Deno.CommandStatus> {
    this.child.kill(signal);
    return await this.done;
  }

  /** Kills the process if a failed assertion left it running. */
  async ensureStopped(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.done;
  }
}
