/**
 * `churnctl setup`: creates the input, prediction and dead-letter topics
 * when missing and reports what it created or found. Idempotent; a topic
 * with fewer partitions than configured is reported, never accepted silently.
 *
 * @module
 */
import { helpText, loggerFrom, printJson, printOut } from "../cli.ts";
import { CLUSTER_OPTIONS, clusterConfig, COMMON_OPTIONS, type OptionValues, parseOptions } from "../config.ts";
import { EXIT_FAILURE, EXIT_OK } from "../errors.ts";
import { ensureTopics, type TopicOutcome, withAdmin } from "../kafka/admin.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CLUSTER_OPTIONS,
  "input-partitions": { kind: "int", default: 3, min: 1, max: 10000, help: "partitions of the input topic" },
  "output-partitions": { kind: "int", default: 3, min: 1, max: 10000, help: "partitions of the prediction topic" },
  "deadletter-partitions": {
    kind: "int",
    default: 1,
    min: 1,
    max: 10000,
    help: "partitions of the dead-letter topic",
  },
  "replication-factor": { kind: "int", default: 1, min: 1, max: 100, help: "replication factor of new topics" },
} as const;

/** Parsed arguments of `churnctl setup`. */
export type SetupArgs = OptionValues<typeof OPTIONS> & { env: Record<string, string | undefined> };

/** One line for the command list. */
export const summary = "create the three topics if missing (idempotent)";

/** Help text of `churnctl setup`. */
export const help = helpText(
  "setup [flags]",
  `Creates the input, prediction and dead-letter topics when they are missing
(3, 3 and 1 partitions by default) and reports each as created or found.
Exits 1 when a topic exists with fewer partitions than configured.`,
  OPTIONS,
);

/** Parses the command line of `churnctl setup`. */
export function parse(argv: string[], env: Record<string, string | undefined>): SetupArgs {
  return { ...parseOptions(argv, OPTIONS, env, "setup").values, env };
}

/** Creates the topics; exit 0 when all exist with enough partitions. */
export async function run(args: SetupArgs): Promise<number> {
  const log = loggerFrom(args, "setup");
  const cluster = clusterConfig(args, args.env, (message) => log.warn(message));
  const replicationFactor = args["replication-factor"];
  const outcomes: TopicOutcome[] = await withAdmin(cluster.connection, (admin) =>
    ensureTopics(admin, [
      { topic: cluster.topics.input, partitions: args["input-partitions"], replicationFactor },
      { topic: cluster.topics.output, partitions: args["output-partitions"], replicationFactor },
      { topic: cluster.topics.deadletter, partitions: args["deadletter-partitions"], replicationFactor },
    ]), { logger: log });
  const ok = outcomes.every((outcome) => outcome.status !== "too_few_partitions");
  if (args.json) {
    printJson({ ok, brokers: cluster.describe.brokers, topics: outcomes });
  } else {
    for (const outcome of outcomes) {
      const note = outcome.status === "too_few_partitions"
        ? `exists with ${outcome.partitions} partitions, fewer than the ${outcome.wanted} configured (Kafka cannot shrink; add partitions with your admin tool or change the setting)`
        : `${outcome.status === "created" ? "created" : "exists"} with ${outcome.partitions} partition${
          outcome.partitions === 1 ? "" : "s"
        }`;
      printOut(`${outcome.topic}: ${note}`);
    }
  }
  return ok ? EXIT_OK : EXIT_FAILURE;
}
