/**
 * Argument parsing for the project's scripts (benchmarks, demo): strict `node:util` parsing whose mistakes end the
 * script with one line and exit 2, as the CLI does, instead of an uncaught TypeError and its stack.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parses `args` strictly; on a mistake prints `error: <script>: <problem>` and exits 2. */
export function parseScriptArgs<T extends ParseArgsConfig["options"]>(
  script: string,
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    const flags = Object.keys(options ?? {}).map((name) => `--${name}`).join(" ");
    console.error(`error: ${script}: ${(error as Error).message.split("\n")[0]} (flags: ${flags})`);
    Deno.exit(2);
  }
}
