/**
 * `churnctl summary` — not built yet.
 *
 * @module
 */
import { helpText } from "../cli.ts";
import { COMMON_OPTIONS, parseOptions } from "../config.ts";
import { ChurnctlError } from "../errors.ts";

/** One line for the command list. */
export const summary = "(not built yet)";

/** Help text of `churnctl summary`. */
export const help = helpText("summary [flags]", "Not built yet.", COMMON_OPTIONS);

/** Parses the command line. */
export function parse(argv: string[], env: Record<string, string | undefined>): unknown {
  return parseOptions(argv, COMMON_OPTIONS, env, "summary").values;
}

/** Not built yet: says so and fails. */
export function run(_args: unknown): Promise<number> {
  return Promise.reject(new ChurnctlError("churnctl summary is not built yet"));
}
