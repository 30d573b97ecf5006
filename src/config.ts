/**
 * Settings and their layering: a flag beats the environment, which beats the
 * default. Every option `--foo-bar` is also read from `CHURNCTL_FOO_BAR`
 * (Quix Streams' rule: one name per parameter, everywhere), so the help text,
 * the README and the parser cannot drift apart. Secrets have no flag at all:
 * they come from the environment only.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, oneLine, UsageError } from "./errors.ts";
import type { ConnectionSettings, SaslMechanism, SecurityProtocol } from "./kafka/client.ts";
import { registerSecret } from "./log.ts";

/** The kinds of value an option can hold. */
export type OptionKind =
  | "string"
  | "int"
  | "number"
  | "boolean"
  | "list"
  | "enum";

/** One command-line option (and its environment variable). */
export interface OptionSpec {
  /** How the raw text is turned into a value. */
  kind: OptionKind;
  /** One line of help. */
  help: string;
  /** Value when neither the flag nor the environment sets it. */
  default?: string | number | boolean | readonly string[];
  /** Allowed values for `enum`. */
  choices?: readonly string[];
  /** Inclusive bounds for `int` and `number`. */
  min?: number;
  /** Inclusive upper bound for `int` and `number`. */
  max?: number;
  /** `false` when the option has no environment variable (e.g. `--help`). */
  env?: false;
  /** A one-letter alias. */
  short?: string;
}

/** A set of options keyed by their flag name without dashes. */
export type OptionSpecs = Record<string, OptionSpec>;

type ValueOfKind<S extends OptionSpec> = S["kind"] extends "int" | "number" ? number
  : S["kind"] extends "boolean" ? boolean
  : S["kind"] extends "list" ? string[]
  : string;

/** The resolved values of a set of options; options without a default may be undefined. */
export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { default: unknown } ? ValueOfKind<S[K]>
    : S[K]["kind"] extends "boolean" ? boolean
    : ValueOfKind<S[K]> | undefined;
};

/** The environment variable that backs a flag: `--events-per-sec` → `CHURNCTL_EVENTS_PER_SEC`. */
export function envName(flag: string): string {
  return "CHURNCTL_" + flag.toUpperCase().replaceAll("-", "_");
}

/** Options every command takes: output shape and logging. */
export const COMMON_OPTIONS = {
  help: { kind: "boolean", help: "show this help", env: false, short: "h" },
  json: {
    kind: "boolean",
    help: "print the result as one JSON object on stdout",
    env: false,
  },
  "log-level": {
    kind: "enum",
    choices: ["debug", "info", "warn", "error"],
    default: "info",
    help: "lowest level of log line written to stderr",
  },
  "log-format": {
    kind: "enum",
    choices: ["text", "json"],
    default: "text",
    help: "log lines as text or as one JSON object per line",
  },
} as const satisfies OptionSpecs;

/** Options that say where the broker and topics are, shared by every command that talks to Kafka. */
export const CONNECTION_OPTIONS = {
  brokers: {
    kind: "list",
    default: ["127.0.0.1:19092"],
    help: "bootstrap brokers, comma separated host:port",
  },
  "input-topic": {
    kind: "string",
    default: "telco.raw.customers",
    help: "topic of customer events",
  },
  "output-topic": {
    kind: "string",
    default: "telco.churn.predictions",
    help: "topic of predictions",
  },
  "deadletter-topic": {
    kind: "string",
    default: "telco.churn.deadletter",
    help: "topic of messages that could not be scored",
  },
  group: {
    kind: "string",
    default: "churn-prediction-group",
    help: "consumer group of the scorer",
  },
  "client-id": { kind: "string", default: "churnctl", help: "Kafka client id" },
  "connect-timeout-ms": {
    kind: "int",
    default: 5000,
    min: 100,
    max: 600000,
    help: "how long to wait for the broker before giving up",
  },
  "state-dir": {
    kind: "string",
    default: ".churnctl",
    help: "checkpoints and run history",
  },
  "reports-dir": {
    kind: "string",
    default: "reports",
    help: "run and summary reports",
  },
} as const satisfies OptionSpecs;

/** The result of parsing a command line: resolved options and positionals. */
export interface Parsed<S extends OptionSpecs> {
  /** Resolved option values (flag > environment > default). */
  values: OptionValues<S>;
  /** Words that were not options. */
  positionals: string[];
}

/**
 * Parses `argv` against `specs` and layers flag > environment > default.
 * Throws {@link UsageError} naming the flag or variable on any mistake.
 *
 * @example
 * ```ts
 * const { values } = parseOptions(["--brokers", "a:1"], CONNECTION_OPTIONS, {}, "health");
 * values.brokers; // ["a:1"]
 * ```
 */
export function parseOptions<S extends OptionSpecs>(
  argv: string[],
  specs: S,
  env: Record<string, string | undefined>,
  command: string,
  maxPositionals = 0,
): Parsed<S> {
  const nodeOptions: Record<
    string,
    { type: "string" | "boolean"; short?: string }
  > = {};
  for (const [name, spec] of Object.entries(specs)) {
    nodeOptions[name] = {
      type: spec.kind === "boolean" ? "boolean" : "string",
    };
    if (spec.short) nodeOptions[name].short = spec.short;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: nodeOptions,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError(
      `${command}: ${describeParseError(error)} (see 'churnctl ${command} --help')`,
    );
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(
      `${command}: unexpected argument '${parsed.positionals[maxPositionals]}' (see 'churnctl ${command} --help')`,
    );
  }
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const fromFlag = (parsed.values as Record<string, string | boolean | undefined>)[name];
    const variable = spec.env === false ? undefined : envName(name);
    const fromEnv = variable ? env[variable] : undefined;
    if (fromFlag !== undefined) {
      values[name] = spec.kind === "boolean" ? fromFlag : convert(String(fromFlag), spec, `--${name}`);
    } else if (fromEnv !== undefined && fromEnv !== "") {
      values[name] = convert(fromEnv, spec, variable!);
    } else {
      values[name] = spec.default === undefined
        ? (spec.kind === "boolean" ? false : undefined)
        : Array.isArray(spec.default)
        ? [...spec.default]
        : spec.default;
    }
  }
  return { values: values as OptionValues<S>, positionals: parsed.positionals };
}

function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const unknown = message.match(/Unknown option '([^']+)'/);
  if (unknown) return `unknown flag ${unknown[1]}`;
  const missing = message.match(
    /Option '([^']+?)(?: <value>)?' argument missing/,
  );
  if (missing) {
    return `flag ${missing[1].split(",").pop()!.trim()} needs a value`;
  }
  const unexpectedValue = message.match(
    /Option '([^']+)' does not take an argument/,
  );
  if (unexpectedValue) {
    return `flag ${unexpectedValue[1].split(",").pop()!.trim()} takes no value`;
  }
  return message.split("\n")[0];
}

/** Converts one raw setting; `source` names the flag or variable in the error. */
function convert(raw: string, spec: OptionSpec, source: string): unknown {
  const text = raw.trim();
  switch (spec.kind) {
    case "string":
      if (text === "") throw new UsageError(`${source}: must not be empty`);
      return text;
    case "int":
    case "number": {
      const value = Number(text);
      const isInt = spec.kind === "int";
      if (
        text === "" || !Number.isFinite(value) ||
        (isInt && !Number.isInteger(value))
      ) {
        throw new UsageError(
          `${source}: expected ${isInt ? "a whole number" : "a number"}, got '${raw}'`,
        );
      }
      if (spec.min !== undefined && value < spec.min) {
        throw new UsageError(
          `${source}: must be at least ${spec.min}, got ${value}`,
        );
      }
      if (spec.max !== undefined && value > spec.max) {
        throw new UsageError(
          `${source}: must be at most ${spec.max}, got ${value}`,
        );
      }
      return value;
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (["1", "true", "yes", "on"].includes(lower)) return true;
      if (["0", "false", "no", "off"].includes(lower)) return false;
      throw new UsageError(`${source}: expected true or false, got '${raw}'`);
    }
    case "list": {
      const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
      if (items.length === 0) {
        throw new UsageError(
          `${source}: expected a comma-separated list, got '${raw}'`,
        );
      }
      return items;
    }
    case "enum": {
      if (!spec.choices?.includes(text)) {
        throw new UsageError(
          `${source}: expected one of ${spec.choices?.join(", ")}, got '${raw}'`,
        );
      }
      return text;
    }
  }
}

/** Renders the option list of a help text, with each variable and default. */
export function describeOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `--${name}${
      spec.kind === "boolean" ? "" : ` <${spec.kind === "enum" ? spec.choices!.join("|") : spec.kind}>`
    }`;
    const extras = [
      spec.env === false ? "" : envName(name),
      spec.default === undefined || spec.default === false ? "" : `default ${String(spec.default)}`,
    ].filter(Boolean).join("; ");
    return { flag, text: spec.help + (extras ? ` [${extras}]` : "") };
  });
  const width = Math.max(...rows.map((row) => row.flag.length));
  return rows.map((row) => `  ${row.flag.padEnd(width)}  ${row.text}`).join(
    "\n",
  );
}

/** Validates a `host:port` broker address list, so a typo fails before a 10 s connect timeout. */
export function checkBrokerList(
  brokers: string[],
  source = "--brokers",
): string[] {
  for (const broker of brokers) {
    const match = broker.match(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new UsageError(`${source}: '${broker}' is not host:port`);
    }
  }
  return brokers;
}

/** Options that choose how to connect securely; secrets themselves come only from the environment. */
export const SECURITY_OPTIONS = {
  "security-protocol": {
    kind: "enum",
    choices: ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"],
    default: "plaintext",
    help: "Kafka security.protocol",
  },
  "sasl-mechanism": {
    kind: "enum",
    choices: ["scram-sha-256", "scram-sha-512", "plain"],
    default: "scram-sha-512",
    help: "SASL mechanism (user and password: CHURNCTL_SASL_USERNAME, CHURNCTL_SASL_PASSWORD)",
  },
  "tls-ca": { kind: "string", help: "PEM file of the CA that signed the broker certificate" },
  "tls-cert": { kind: "string", help: "PEM client certificate (mutual TLS)" },
  "tls-key": { kind: "string", help: "PEM client key (mutual TLS)" },
  "tls-insecure-skip-verify": {
    kind: "boolean",
    help: "do not verify the broker certificate (insecure; warns every time)",
  },
} as const satisfies OptionSpecs;

/** Every option needed to reach the cluster: addresses, topics and security. */
export const CLUSTER_OPTIONS = { ...CONNECTION_OPTIONS, ...SECURITY_OPTIONS } as const satisfies OptionSpecs;

/** Connection settings as `src/kafka/` takes them, plus the topic and group names. */
export interface ClusterConfig {
  /** How to connect. */
  connection: ConnectionSettings;
  /** Input, output and dead-letter topics. */
  topics: { input: string; output: string; deadletter: string };
  /** Consumer group of the scorer. */
  group: string;
  /** Directory of checkpoints and run history. */
  stateDir: string;
  /** Directory of reports. */
  reportsDir: string;
  /** A description safe to print: no password. */
  describe: { brokers: string[]; protocol: string; mechanism?: string; username?: string; ca?: string };
}

/** What each PEM setting must contain; checked here so a wrong file fails in one line, not deep in a TLS handshake. */
const PEM_MARKERS = {
  CHURNCTL_TLS_CA: { pattern: /-----BEGIN CERTIFICATE-----/, what: "a PEM certificate" },
  CHURNCTL_TLS_CERT: { pattern: /-----BEGIN CERTIFICATE-----/, what: "a PEM certificate" },
  CHURNCTL_TLS_KEY: { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: "a PEM private key" },
} as const;

function readPem(path: string, variable: keyof typeof PEM_MARKERS): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : error instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : oneLine(error);
    throw new ConfigError(`${variable}: cannot read ${path}: ${reason}`);
  }
  const expected = PEM_MARKERS[variable];
  if (!expected.pattern.test(text)) {
    throw new ConfigError(`${variable}: ${path} is not ${expected.what} (no '${expected.pattern.source}' line)`);
  }
  return text;
}

/**
 * Builds the cluster configuration from resolved options and the
 * environment. The SASL password is read here, from the environment only,
 * and registered so no log line can show it.
 */
export function clusterConfig(
  values: OptionValues<typeof CLUSTER_OPTIONS>,
  env: Record<string, string | undefined>,
  warn: (message: string) => void = () => {},
): ClusterConfig {
  const brokers = checkBrokerList(values.brokers);
  const protocol = values["security-protocol"] as SecurityProtocol;
  const connection: ConnectionSettings = {
    brokers,
    clientId: values["client-id"],
    connectTimeoutMs: values["connect-timeout-ms"],
    protocol,
  };
  const describe: ClusterConfig["describe"] = { brokers, protocol };
  // Masked even when this protocol does not use it: a password in the
  // environment is a secret whether or not this run sends it.
  registerSecret(env.CHURNCTL_SASL_PASSWORD);
  const usesSasl = protocol === "sasl_plaintext" || protocol === "sasl_ssl";
  const usesTls = protocol === "ssl" || protocol === "sasl_ssl";
  if (!usesSasl && env.CHURNCTL_SASL_USERNAME) {
    warn(`CHURNCTL_SASL_USERNAME is set but the security protocol is ${protocol}: SASL is not used`);
  }
  const tlsSettings = ["tls-ca", "tls-cert", "tls-key"] as const;
  if (!usesTls && (tlsSettings.some((name) => values[name] !== undefined) || values["tls-insecure-skip-verify"])) {
    warn(`TLS settings are set but the security protocol is ${protocol}: TLS is not used`);
  }
  if (usesSasl) {
    const username = env.CHURNCTL_SASL_USERNAME;
    const password = env.CHURNCTL_SASL_PASSWORD;
    if (!username || !password) {
      throw new ConfigError(
        `security protocol ${protocol} needs CHURNCTL_SASL_USERNAME and CHURNCTL_SASL_PASSWORD in the environment`,
      );
    }
    const mechanism = values["sasl-mechanism"] as SaslMechanism;
    connection.sasl = { mechanism, username, password };
    describe.mechanism = mechanism;
    describe.username = username;
  }
  if (usesTls) {
    const caPath = values["tls-ca"];
    const certPath = values["tls-cert"];
    const keyPath = values["tls-key"];
    if ((certPath === undefined) !== (keyPath === undefined)) {
      throw new ConfigError("CHURNCTL_TLS_CERT and CHURNCTL_TLS_KEY go together: set both or neither");
    }
    if (values["tls-insecure-skip-verify"]) {
      warn("TLS certificate verification is OFF (--tls-insecure-skip-verify): the broker is not authenticated");
    }
    connection.tls = {
      ca: caPath ? readPem(caPath, "CHURNCTL_TLS_CA") : undefined,
      caPath,
      cert: certPath ? readPem(certPath, "CHURNCTL_TLS_CERT") : undefined,
      key: keyPath ? readPem(keyPath, "CHURNCTL_TLS_KEY") : undefined,
      insecureSkipVerify: values["tls-insecure-skip-verify"],
    };
    describe.ca = caPath;
  }
  return {
    connection,
    topics: {
      input: values["input-topic"],
      output: values["output-topic"],
      deadletter: values["deadletter-topic"],
    },
    group: values.group,
    stateDir: values["state-dir"],
    reportsDir: values["reports-dir"],
    describe,
  };
}
