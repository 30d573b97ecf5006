/**
 * `churnctl health`: is the pipeline able to run? Checks the broker (with its
 * round trip), each topic and its partitions, the model (load + one canary
 * record), and the consumer group's state and lag. Exit 0 healthy, 1 not.
 * Never hangs: every broker call is bounded by `--timeout-ms`.
 *
 * @module
 */
import { helpText, loggerFrom, printJson, printOut } from "../cli.ts";
import { CLUSTER_OPTIONS, clusterConfig, COMMON_OPTIONS, type OptionValues, parseOptions } from "../config.ts";
import { EXIT_FAILURE, EXIT_OK, oneLine } from "../errors.ts";
import { describeTopics, groupLag, probeBroker, withAdmin } from "../kafka/admin.ts";
import { describeKafkaError } from "../kafka/errors.ts";
import { EXACTLY_ONCE_OPTION, guaranteeOf, transactionalIdFor } from "../delivery.ts";

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...CLUSTER_OPTIONS,
  ...EXACTLY_ONCE_OPTION,
  "timeout-ms": { kind: "int", default: 5000, min: 100, max: 60000, help: "bound on each broker check" },
  model: { kind: "string", help: "ONNX model to check instead of the bundled one" },
} as const;

/** Parsed arguments of `churnctl health`. */
export type HealthArgs = OptionValues<typeof OPTIONS> & { env: Record<string, string | undefined> };

/** The outcome of one check. */
export interface Check {
  /** What was checked: `broker`, `topic:<name>`, `model`, `group`, `mode`. */
  name: string;
  /** `ok`, `fail`, `warn` (works, but look), or `skip` (could not be checked). */
  status: "ok" | "fail" | "warn" | "skip";
  /** One line saying why. */
  detail: string;
  /** Facts behind the status (round trip, partitions, lag…). */
  data?: Record<string, unknown>;
}

/** One line for the command list. */
export const summary = "check broker, topics, model and consumer lag (exit 0 healthy, 1 not)";

/** Help text of `churnctl health`. */
export const help = helpText(
  "health [flags]",
  `Checks the broker (reachable, round trip), the three topics (present,
partition counts), the model (loads and scores a canary record) and the
consumer group (state, lag per partition). Exit 0 when healthy, 1 when not.`,
  OPTIONS,
);

/** Parses the command line of `churnctl health`. */
export function parse(argv: string[], env: Record<string, string | undefined>): HealthArgs {
  return { ...parseOptions(argv, OPTIONS, env, "health").values, env };
}

async function checkModelStatus(modelPath: string | undefined): Promise<Check> {
  try {
    const { checkModel } = await import("../model/scorer.ts");
    const result = await checkModel({ modelPath });
    return {
      name: "model",
      status: result.ok ? "ok" : "fail",
      detail: result.detail,
      data: { version: result.version, latency_ms: result.latencyMs },
    };
  } catch (error) {
    return { name: "model", status: "fail", detail: oneLine(error) };
  }
}

/** The delivery guarantee `consume` runs with under the same settings (`CHURNCTL_EXACTLY_ONCE`). */
function modeCheck(exactlyOnce: boolean, group: string, instanceId: string | undefined): Check {
  const mode = guaranteeOf(exactlyOnce);
  if (!exactlyOnce) return { name: "mode", status: "ok", detail: mode, data: { mode } };
  const transactionalId = transactionalIdFor(group, instanceId);
  return {
    name: "mode",
    status: "ok",
    detail: `${mode} (transactional.id ${transactionalId}; output readers must use read_committed)`,
    data: { mode, transactional_id: transactionalId },
  };
}

/** Runs every check; returns 0 when none failed. */
export async function run(args: HealthArgs): Promise<number> {
  const log = loggerFrom(args, "health");
  const cluster = clusterConfig(args, args.env, (message) => log.warn(message));
  const timeoutMs = args["timeout-ms"];
  const modelCheck = checkModelStatus(args.model);
  const checks: Check[] = [];
  const probe = await probeBroker(cluster.connection, timeoutMs);
  checks.push(
    probe.ok
      ? {
        name: "broker",
        status: "ok",
        detail: `answered in ${probe.rttMs} ms`,
        data: { rtt_ms: probe.rttMs, brokers: probe.brokers, cluster_id: probe.clusterId },
      }
      : { name: "broker", status: "fail", detail: probe.error ?? "no answer", data: { rtt_ms: probe.rttMs } },
  );
  const topicNames = [cluster.topics.input, cluster.topics.output, cluster.topics.deadletter];
  if (probe.ok) {
    try {
      await withAdmin(cluster.connection, async (admin) => {
        const partitions = await describeTopics(admin, topicNames);
        for (const topic of topicNames) {
          const count = partitions.get(topic);
          checks.push(
            count === undefined
              ? { name: `topic:${topic}`, status: "fail", detail: "missing (run 'churnctl setup')" }
              : { name: `topic:${topic}`, status: "ok", detail: `${count} partitions`, data: { partitions: count } },
          );
        }
        if (partitions.get(cluster.topics.input) !== undefined) {
          try {
            const lag = await groupLag(admin, cluster.group, cluster.topics.input);
            checks.push({
              name: "group",
              status: "ok",
              detail: `${cluster.group} ${lag.state}, ${lag.members} member(s), lag ${lag.totalLag} on ${lag.topic}`,
              data: { ...lag },
            });
          } catch (error) {
            checks.push({ name: "group", status: "fail", detail: describeKafkaError(error, cluster.connection) });
          }
        }
        // A couple of retries ride out a coordinator that is still loading; the deadline still bounds the whole.
      }, { retries: 2, deadlineMs: timeoutMs * 2 });
    } catch (error) {
      checks.push({ name: "topics", status: "fail", detail: oneLine(error) });
    }
  } else {
    for (const topic of topicNames) {
      checks.push({ name: `topic:${topic}`, status: "skip", detail: "broker unreachable" });
    }
  }
  checks.push(await modelCheck);
  checks.push(modeCheck(args["exactly-once"], cluster.group, args["instance-id"]));
  const healthy = checks.every((check) => check.status === "ok" || check.status === "warn");
  if (args.json) {
    printJson({ healthy, connection: cluster.describe, group: cluster.group, checks });
  } else {
    for (const check of checks) printOut(`${check.status.toUpperCase().padEnd(4)} ${check.name}: ${check.detail}`);
    printOut(healthy ? "healthy" : "unhealthy");
  }
  return healthy ? EXIT_OK : EXIT_FAILURE;
}
