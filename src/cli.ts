/**
 * Small helpers every command shares: help text layout, the logger built
 * from the common options, and stdout output (results only; logs go to stderr).
 *
 * @module
 */
import { COMMON_OPTIONS, describeOptions, type OptionSpecs, type OptionValues } from "./config.ts";
import { createLogger, type Logger, maskSecrets } from "./log.ts";

/** What each `src/commands/*.ts` module exports; `main.ts` dispatches on it. */
export interface CommandModule<A> {
  /** One line for the tool's command list. */
  summary: string;
  /** Full help text of the command. */
  help: string;
  /** Parses argv + environment into typed arguments; throws `UsageError`. */
  parse(argv: string[], env: Record<string, string | undefined>): A;
  /** Runs the command and returns its exit code (only `main.ts` exits). */
  run(args: A): Promise<number>;
}

/** Builds a command's help text: usage, description, then every option with its variable and default. */
export function helpText(usage: string, description: string, specs: OptionSpecs): string {
  return `Usage: churnctl ${usage}\n\n${description.trim()}\n\nOptions (flag > environment > default):\n${
    describeOptions(specs)
  }\n`;
}

/** A logger configured by `--log-level` and `--log-format`. */
export function loggerFrom(values: OptionValues<typeof COMMON_OPTIONS>, component: string): Logger {
  return createLogger({
    level: values["log-level"] as "debug" | "info" | "warn" | "error",
    format: values["log-format"] as "text" | "json",
    component,
  });
}

const encoder = new TextEncoder();

/** Writes a result to stdout (secrets masked). */
export function printOut(text: string): void {
  Deno.stdout.writeSync(encoder.encode(maskSecrets(text.endsWith("\n") ? text : text + "\n")));
}

/** Writes exactly one JSON object to stdout, as `--json` promises. */
export function printJson(value: unknown): void {
  printOut(JSON.stringify(value));
}
