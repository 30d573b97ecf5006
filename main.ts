/**
 * churnctl: telco churn prediction on a Kafka stream.
 *
 * The edge of the program: parse the first word, dispatch to a command in
 * `src/commands/`, and turn a typed error into one line on stderr and an exit
 * code. Only this file calls `Deno.exit`.
 *
 * @module
 */
import type { CommandModule } from "./src/cli.ts";
import { ChurnctlError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, oneLine } from "./src/errors.ts";
import { createLogger, maskSecrets } from "./src/log.ts";
import { VERSION } from "./src/version.ts";
import * as setup from "./src/commands/setup.ts";
import * as produce from "./src/commands/produce.ts";
import * as consume from "./src/commands/consume.ts";
import * as summary from "./src/commands/summary.ts";
import * as health from "./src/commands/health.ts";
import * as schedule from "./src/commands/schedule.ts";

const COMMANDS: Record<string, CommandModule<unknown>> = {
  setup,
  produce,
  consume,
  summary,
  health,
  schedule,
} as Record<string, CommandModule<unknown>>;

const TOOL_HELP = `churnctl ${VERSION} — telco churn prediction on a Kafka stream

Usage: churnctl <command> [flags]

Commands:
${Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`).join("\n")}

Global flags:
  -h, --help     show help (also: churnctl <command> --help)
  --version      print churnctl's, Deno's and the model's versions

Every flag --foo-bar can also be set as CHURNCTL_FOO_BAR; a flag wins over
the environment, which wins over the default. Results go to stdout, logs to
stderr; --json prints exactly one JSON object on stdout.
`;

async function versionText(): Promise<string> {
  let model = "not available";
  try {
    const { loadCard } = await import("./src/model/card.ts");
    // The card beside the bundled model; `deno task compile` embeds it with --include.
    model = (await loadCard(new URL("./models/churn.model.json", import.meta.url))).version;
  } catch (error) {
    model = `not available (${oneLine(error)})`;
  }
  return `churnctl ${VERSION}\ndeno ${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})\nmodel ${model}`;
}

/** Runs churnctl with `argv` and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    console.log(TOOL_HELP);
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (first === "--version" || first === "-V") {
    console.log(await versionText());
    return EXIT_OK;
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) {
    throw new ChurnctlError(
      `unknown ${first.startsWith("-") ? "flag" : "command"} '${first}' (commands: ${
        Object.keys(COMMANDS).join(", ")
      }; see 'churnctl --help')`,
      EXIT_USAGE,
    );
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return EXIT_OK;
  }
  const args = command.parse(rest, Deno.env.toObject());
  return await command.run(args);
}

/** Prints the edge's one error line; as a JSON log line when the run asked for JSON logs, so every stderr line parses. */
function printError(message: string): void {
  const at = Deno.args.findIndex((arg) => arg === "--log-format" || arg.startsWith("--log-format="));
  const format = at < 0 ? Deno.env.get("CHURNCTL_LOG_FORMAT") : Deno.args[at].split("=")[1] ?? Deno.args[at + 1];
  if (format?.trim() === "json") createLogger({ format: "json", component: "churnctl" }).error(message);
  else console.error(`error: ${maskSecrets(message)}`);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (error instanceof ChurnctlError) {
      printError(oneLine(error));
      code = error.exitCode;
    } else {
      // A bug, not a user mistake: one line by default, the stack on request.
      printError(`internal: ${oneLine(error)}`);
      if (Deno.env.get("CHURNCTL_DEBUG")) console.error(error);
      code = EXIT_FAILURE;
    }
  }
  Deno.exit(code);
}
