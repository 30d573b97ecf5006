/**
 * A real local Kafka for machines without Docker: `deno task broker
 * up|down|status|stop|start [--secure]`.
 *
 * It runs Apache Kafka (3.9.1 unless `CHURNCTL_KAFKA_VERSION` says otherwise)
 * in KRaft combined mode — one JVM that is both broker and controller — from
 * Maven Central jars that `mvn` resolves once into a cache directory outside
 * git. Data, configuration and (in secure mode) the throwaway CA live in a
 * temporary directory; the process id, ports and paths are recorded in
 * `<state dir>/broker/state.json` so `down` stops exactly that process.
 *
 * Settings from the environment:
 * - `CHURNCTL_STATE_DIR` — where state, the broker log and `secure.env` go
 *   (default `.churnctl/` at the repository root).
 * - `CHURNCTL_BROKER_PORT` — plaintext port (default 19092); the controller
 *   takes the next port and the SASL_SSL listener the one after.
 * - `CHURNCTL_KAFKA_VERSION` — Kafka version to resolve (default 3.9.1; the
 *   reload4j logging binding in `scripts/broker/pom.xml` fits Kafka 3.x).
 * - `JAVA_HOME` — which JDK to use (else `java` and `keytool` on PATH).
 *
 * The functions are exported for `scripts/test.ts` and the soak scripts; the
 * command line part runs only when this file is the entry point.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrokerProbe, probeBroker, probeGroupCoordinator } from "../src/kafka/admin.ts";
import type { ConnectionSettings } from "../src/kafka/client.ts";
import { ChurnctlError, EXIT_FAILURE, EXIT_OK, oneLine, UsageError } from "../src/errors.ts";
import { ensurePrivateDir, writePrivateFile } from "../src/state_files.ts";

/** Kafka version used when `CHURNCTL_KAFKA_VERSION` is not set. */
export const DEFAULT_KAFKA_VERSION = "3.9.1";
/** SCRAM user created in secure mode. */
export const SECURE_USERNAME = "churnctl";

const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(SCRIPT_DIR, "..");
const POM_FILE = join(SCRIPT_DIR, "broker", "pom.xml");
const LOG4J_TEMPLATE = join(SCRIPT_DIR, "broker", "log4j.properties");

/** Options of every broker function; all optional, resolved by {@link resolveBrokerConfig}. */
export interface BrokerOptions {
  /** Also open a SASL_SSL listener with SCRAM-SHA-512 and a throwaway CA. @default false */
  secure?: boolean;
  /** Loopback address to listen on. @default "127.0.0.1" */
  host?: string;
  /** Plaintext listener port. @default 19092 (or `CHURNCTL_BROKER_PORT`) */
  port?: number;
  /** KRaft controller port. @default port + 1 */
  controllerPort?: number;
  /** SASL_SSL listener port. @default port + 2 (19094) */
  securePort?: number;
  /** Kafka version to run. @default "3.9.1" (or `CHURNCTL_KAFKA_VERSION`) */
  kafkaVersion?: string;
  /** Directory for state, log and `secure.env`. @default `CHURNCTL_STATE_DIR` or `<repo>/.churnctl` */
  stateDir?: string;
  /** How long `up`/`start` wait for the broker to answer. @default 60000 */
  readyTimeoutMs?: number;
  /** Where progress lines go. @default stderr */
  progress?: (line: string) => void;
  /** Environment to read settings from. @default Deno.env.toObject() */
  env?: Record<string, string | undefined>;
}

/** Options after defaults and the environment were applied. */
export interface BrokerConfig {
  /** Whether the SASL_SSL listener is wanted. */
  secure: boolean;
  /** Listen address. */
  host: string;
  /** Plaintext port. */
  port: number;
  /** Controller port. */
  controllerPort: number;
  /** SASL_SSL port. */
  securePort: number;
  /** Kafka version. */
  kafkaVersion: string;
  /** Absolute state directory (`.churnctl`). */
  stateDir: string;
  /** Readiness deadline in ms. */
  readyTimeoutMs: number;
  /** Progress sink. */
  progress: (line: string) => void;
  /** Jar cache directory for this version (outside git). */
  cacheDir: string;
}

/** What `state.json` records about the broker this script started. */
export interface BrokerState {
  /** Process id of the broker JVM. */
  pid: number;
  /** `plaintext`, or `secure` when the SASL_SSL listener is open too. */
  mode: "plaintext" | "secure";
  /** Kafka version it runs. */
  kafkaVersion: string;
  /** Listen address. */
  host: string;
  /** Plaintext port. */
  port: number;
  /** Controller port. */
  controllerPort: number;
  /** SASL_SSL port (secure mode). */
  securePort?: number;
  /** Temporary directory holding configuration, data and TLS material. */
  workDir: string;
  /** `server.properties` the broker was started with (also identifies its process). */
  propertiesFile: string;
  /** Broker stdout/stderr. */
  logFile: string;
  /** CA certificate (PEM) clients must trust (secure mode). */
  caFile?: string;
  /** ISO time of the last start. */
  startedAt: string;
}

/** What {@link brokerStatus} found. */
export interface BrokerStatus {
  /** The recorded broker, if any. */
  state?: BrokerState;
  /** True when the recorded process is alive and is our broker. */
  running: boolean;
  /** `host:port` of the plaintext listener. */
  address: string;
  /** Result of one metadata request to that address. */
  probe: BrokerProbe;
}

/** What {@link brokerUp} and {@link brokerStart} did. */
export interface BrokerUpResult {
  /** `started` (new process), `already-running` (ours), `external` (someone else's answers). */
  outcome: "started" | "already-running" | "external";
  /** `host:port` of the plaintext listener. */
  address: string;
  /** The broker's process id, when it is ours. */
  pid?: number;
  /** Time from the call to the broker answering, in ms. */
  elapsedMs: number;
  /** `secure.env` written for secure mode. */
  secureEnvFile?: string;
  /** Broker log file, when it is ours. */
  logFile?: string;
}

/** What {@link brokerDown} and {@link brokerStop} did. */
export interface BrokerStopResult {
  /** Process id that was stopped; undefined when nothing of ours ran. */
  pid?: number;
  /** True when SIGTERM was not enough and SIGKILL was sent. */
  killed: boolean;
  /** Time the process took to exit, in ms. */
  elapsedMs: number;
  /** One line for the user. */
  message: string;
}

/** A broker that failed to start: its message is the one line, `logTail` the evidence. */
export class BrokerStartError extends ChurnctlError {
  /** Last lines of the output that explains the failure. */
  readonly logTail: string[];
  /** Whose output `logTail` is: "the broker log", "mvn", "kafka-storage format". */
  readonly source: string;
  constructor(message: string, logTail: string[], source = "the broker log") {
    super(message, EXIT_FAILURE);
    this.name = "BrokerStartError";
    // Maven colours its output even with -B; escape codes only garble a terminal.
    // deno-lint-ignore no-control-regex
    this.logTail = logTail.map((line) => line.replace(/\x1b\[[0-9;]*m/g, "")).filter((line) => line.trim() !== "");
    this.source = source;
  }
}

/** Applies defaults and the environment to `options`; pure apart from reading nothing. */
export function resolveBrokerConfig(options: BrokerOptions = {}): BrokerConfig {
  const env = options.env ?? Deno.env.toObject();
  const port = options.port ?? portFromEnv(env.CHURNCTL_BROKER_PORT) ?? 19092;
  const kafkaVersion = options.kafkaVersion ?? (env.CHURNCTL_KAFKA_VERSION || DEFAULT_KAFKA_VERSION);
  if (!/^[0-9]+\.[0-9]+\.[0-9]+$/.test(kafkaVersion)) {
    throw new UsageError(`CHURNCTL_KAFKA_VERSION: expected a version like 3.9.1, got '${kafkaVersion}'`);
  }
  // The CLI resolves CHURNCTL_STATE_DIR against the working directory; the
  // default is pinned to the repository so `deno task` from anywhere agrees.
  const stateDir = resolve(options.stateDir ?? (env.CHURNCTL_STATE_DIR || join(REPO_ROOT, ".churnctl")));
  const cacheHome = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, ".cache") : join(stateDir, "cache"));
  return {
    secure: options.secure ?? false,
    host: options.host ?? "127.0.0.1",
    port,
    controllerPort: options.controllerPort ?? port + 1,
    securePort: options.securePort ?? port + 2,
    kafkaVersion,
    stateDir,
    readyTimeoutMs: options.readyTimeoutMs ?? 60000,
    progress: options.progress ?? ((line) => console.error(line)),
    cacheDir: join(cacheHome, "churnctl", `kafka-${kafkaVersion}`),
  };
}

function portFromEnv(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65533) {
    throw new UsageError(`CHURNCTL_BROKER_PORT: expected a port number, got '${raw}'`);
  }
  return port;
}

// ---------------------------------------------------------------------------
// Paths and state

function brokerDir(config: BrokerConfig): string {
  return join(config.stateDir, "broker");
}
function stateFile(config: BrokerConfig): string {
  return join(brokerDir(config), "state.json");
}
function logFile(config: BrokerConfig): string {
  return join(brokerDir(config), "broker.log");
}
/** Path of the `export CHURNCTL_…` file written in secure mode. */
export function secureEnvFile(config: BrokerConfig): string {
  return join(config.stateDir, "secure.env");
}

async function readState(config: BrokerConfig): Promise<BrokerState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(stateFile(config))) as BrokerState;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ChurnctlError(`cannot read ${stateFile(config)}: ${oneLine(error)} (delete it if it is corrupt)`);
  }
}

async function writeState(config: BrokerConfig, state: BrokerState): Promise<void> {
  await writePrivateFile(stateFile(config), JSON.stringify(state, null, 2) + "\n");
}

async function removeQuietly(path: string, recursive = false): Promise<void> {
  await Deno.remove(path, { recursive }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Processes

/** Runs a short tool to completion, capturing its output; a missing binary becomes `hint`. */
async function runTool(
  command: string,
  args: string[],
  hint: string,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ success: boolean; output: string }> {
  try {
    const result = await new Deno.Command(command, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return { success: result.success, output: decoder.decode(result.stdout) + decoder.decode(result.stderr) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new ChurnctlError(hint);
    throw error;
  }
}

function jdkTool(name: "java" | "keytool"): string {
  const home = Deno.env.get("JAVA_HOME");
  return home ? join(home, "bin", name) : name;
}

const INSTALL_HINT = "install Java 17 and Maven 3 (or use Docker with compose.yaml)";

/** Fails with one line naming what to install when Java is missing or too old. */
async function requireJava(): Promise<void> {
  const { output } = await runTool(
    jdkTool("java"),
    ["-version"],
    `java not found${Deno.env.get("JAVA_HOME") ? " in JAVA_HOME" : " on PATH"}: ${INSTALL_HINT}`,
  );
  const match = output.match(/version "(?:1\.)?(\d+)/);
  const major = match ? Number(match[1]) : 0;
  // Kafka 3.9 brokers need Java 11+; 17 is what the project tests with.
  if (major < 11) {
    throw new ChurnctlError(`Java 11 or newer is needed (found '${output.split("\n")[0]}'): ${INSTALL_HINT}`);
  }
}

/** Reads /proc (Linux) or `ps` to tell whether `pid` is alive and what it runs. */
async function processCommandLine(pid: number): Promise<string | undefined> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // A zombie (state Z) has exited; only its parent has not reaped it yet.
    if (/^\d+ \(.*\) Z/.test(stat)) return undefined;
    return (await Deno.readTextFile(`/proc/${pid}/cmdline`)).replaceAll("\0", " ");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && (await exists("/proc/self"))) return undefined;
  }
  const { success, output } = await runTool("ps", ["-o", "stat=,command=", "-p", String(pid)], "ps not found");
  if (!success || output.trim() === "" || output.trim().startsWith("Z")) return undefined;
  return output;
}

/** True when `pid` is alive and is the broker recorded in `state` (guards against a reused pid). */
async function isOurBroker(state: BrokerState): Promise<boolean> {
  const commandLine = await processCommandLine(state.pid);
  return commandLine !== undefined && commandLine.includes("kafka.Kafka") &&
    commandLine.includes(state.propertiesFile);
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** SIGTERM, wait for a clean shutdown, then SIGKILL. */
async function terminate(state: BrokerState): Promise<{ killed: boolean; elapsedMs: number }> {
  const started = performance.now();
  const gone = async (ms: number) => {
    for (const deadline = performance.now() + ms; performance.now() < deadline; await sleep(100)) {
      if (!(await isOurBroker(state))) return true;
    }
    return false;
  };
  Deno.kill(state.pid, "SIGTERM");
  // A combined broker+controller shuts down in a few seconds; 30 s covers a
  // loaded machine without letting a wedged JVM block the caller for long.
  if (await gone(30000)) return { killed: false, elapsedMs: performance.now() - started };
  Deno.kill(state.pid, "SIGKILL");
  if (!(await gone(5000))) throw new ChurnctlError(`broker pid ${state.pid} did not exit after SIGKILL`);
  return { killed: true, elapsedMs: performance.now() - started };
}

/**
 * The last lines of the broker log that explain something: Java stack frames
 * (`at …`, `... 16 more`) are dropped, so the causes fit on one screen.
 */
export function explainingLines(text: string, lines = 15): string[] {
  return text.trimEnd().split("\n")
    .filter((line) => !/^\s+(at |\.\.\. \d+ more)/.test(line))
    .slice(-lines);
}

/** The innermost `Caused by:` of the log, or its last ERROR line: the reason for the one-line error. */
export function rootCause(text: string): string | undefined {
  const lines = text.split("\n");
  const causes = lines.filter((line) => line.startsWith("Caused by: "));
  // Kafka's own exception usually names the listener or file; the JDK's
  // innermost one ("Address already in use") often does not.
  const cause = causes.findLast((line) => /^Caused by: (org\.apache\.)?kafka\./.test(line)) ?? causes.at(-1);
  if (cause) return cause.slice("Caused by: ".length).replace(/^[\w.$]+(Exception|Error): /, "");
  return lines.findLast((line) => / (ERROR|FATAL) /.test(line))?.replace(/^\[[^\]]*\] \w+ /, "");
}

async function readLog(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

/** A start failure: the one line names the root cause, the log lines follow. */
async function startFailure(message: string, logPath: string): Promise<BrokerStartError> {
  const text = await readLog(logPath);
  const cause = rootCause(text);
  return new BrokerStartError(cause ? `${message}: ${cause}` : message, explainingLines(text));
}

// ---------------------------------------------------------------------------
// Jars

/** Makes sure the Kafka jars are in the cache; resolves them with Maven when not. */
async function ensureJars(config: BrokerConfig): Promise<string> {
  // Jars of one pom live in a directory named after the pom's hash: a changed
  // pom (another logging binding) resolves beside it and never deletes jars a
  // running broker may still load classes from.
  const pomHash = await sha256(await Deno.readFile(POM_FILE));
  const root = join(config.cacheDir, pomHash.slice(0, 12));
  const libs = join(root, "libs");
  // Written last, so a half download (interrupted mvn) is redone.
  const stamp = join(root, "complete");
  if ((await exists(stamp)) && (await exists(libs))) return libs;

  config.progress(`resolving Kafka ${config.kafkaVersion} jars with Maven into ${libs} (first run only)…`);
  await removeQuietly(libs, true);
  await Deno.mkdir(root, { recursive: true });
  const started = performance.now();
  const { success, output } = await runTool("mvn", [
    "-q",
    "-B",
    "-Dstyle.color=never",
    "-f",
    POM_FILE,
    "dependency:copy-dependencies",
    "-DincludeScope=runtime",
    `-DoutputDirectory=${libs}`,
    `-Dkafka.version=${config.kafkaVersion}`,
  ], `mvn not found on PATH: ${INSTALL_HINT}`);
  if (!success) {
    throw new BrokerStartError(
      `mvn could not resolve org.apache.kafka:kafka_2.13:${config.kafkaVersion} (is Maven Central reachable?)`,
      output.trimEnd().split("\n").slice(-25),
      "mvn",
    );
  }
  await Deno.writeTextFile(stamp, `${config.kafkaVersion} ${pomHash}\n`);
  config.progress(`resolved jars in ${seconds(performance.now() - started)}`);
  return libs;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// ---------------------------------------------------------------------------
// Configuration

/** Secrets of secure mode; they exist only in the temp dir and `secure.env`. */
interface SecureMaterial {
  caFile: string;
  keystoreFile: string;
  keystorePassword: string;
  saslPassword: string;
}

/** The broker's `server.properties`: combined KRaft node on loopback. */
export function serverProperties(
  config: Pick<BrokerConfig, "host" | "port" | "controllerPort" | "securePort">,
  dataDir: string,
  secure?: Pick<SecureMaterial, "keystoreFile" | "keystorePassword">,
): string {
  const { host, port, controllerPort, securePort } = config;
  const listeners = [`PLAINTEXT://${host}:${port}`, `CONTROLLER://${host}:${controllerPort}`];
  const advertised = [`PLAINTEXT://${host}:${port}`];
  const protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"];
  if (secure) {
    listeners.push(`SASL_SSL://${host}:${securePort}`);
    advertised.push(`SASL_SSL://${host}:${securePort}`);
    protocols.push("SASL_SSL:SASL_SSL");
  }
  const lines = [
    "# Written by scripts/broker.ts; one node that is broker and controller.",
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=${listeners.join(",")}`,
    `advertised.listeners=${advertised.join(",")}`,
    `listener.security.protocol.map=${protocols.join(",")}`,
    "controller.listener.names=CONTROLLER",
    // Inter-broker and controller traffic stay plaintext on loopback.
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${dataDir}`,
    // Off, so a topic `setup` did not create shows up as missing in `health`.
    "auto.create.topics.enable=false",
    "num.partitions=3",
    "offsets.topic.replication.factor=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    // Small segments and a short retention keep a long soak's temp dir small.
    "log.segment.bytes=67108864",
    "log.retention.hours=24",
  ];
  if (secure) {
    lines.push(
      "sasl.enabled.mechanisms=SCRAM-SHA-512",
      "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512",
      "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=" +
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "ssl.keystore.type=PKCS12",
      `ssl.keystore.location=${secure.keystoreFile}`,
      `ssl.keystore.password=${secure.keystorePassword}`,
      `ssl.key.password=${secure.keystorePassword}`,
      "ssl.client.auth=none",
    );
  }
  return lines.join("\n") + "\n";
}

/** A random secret made of letters and digits, safe in shell files and `--add-scram`. */
function randomSecret(bytes = 24): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A KRaft cluster id: 16 random bytes, base64url without padding (as `kafka-storage random-uuid`). */
function clusterId(): string {
  for (;;) {
    const text = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
      .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    // Kafka refuses ids that start with '-' (they read as a flag).
    if (!text.startsWith("-")) return text;
  }
}

/** Makes a throwaway CA and a broker certificate for 127.0.0.1/localhost with keytool. */
async function makeTlsMaterial(workDir: string): Promise<Omit<SecureMaterial, "saslPassword">> {
  const dir = join(workDir, "tls");
  await Deno.mkdir(dir, { mode: 0o700 });
  const password = randomSecret(16);
  const ca = join(dir, "ca.p12");
  const keystoreFile = join(dir, "broker.p12");
  const caFile = join(dir, "ca.pem");
  // Each keytool call is a JVM; C1 only makes each start noticeably faster.
  const fast = ["-J-XX:TieredStopAtLevel=1", "-J-XX:+UseSerialGC"];
  const store = (file: string) => ["-keystore", file, "-storetype", "PKCS12", "-storepass", password];
  const keytool = async (args: string[]) => {
    const { success, output } = await runTool(
      jdkTool("keytool"),
      [...fast, ...args],
      `keytool not found: ${INSTALL_HINT}`,
    );
    if (!success) throw new ChurnctlError(`keytool ${args[0]} failed: ${oneLine(output)}`);
  };
  const csr = join(dir, "broker.csr");
  const signed = join(dir, "broker.pem");
  // The CA and the broker key pair do not depend on each other: making them
  // side by side saves two JVM start-ups of waiting.
  await Promise.all([
    (async () => {
      await keytool(["-genkeypair", "-alias", "ca", "-dname", "CN=churnctl throwaway CA", "-ext", "bc:c"]
        .concat(["-keyalg", "RSA", "-keysize", "2048", "-validity", "30", ...store(ca)]));
      await keytool(["-exportcert", "-rfc", "-alias", "ca", "-file", caFile, ...store(ca)]);
    })(),
    (async () => {
      await keytool(["-genkeypair", "-alias", "broker", "-dname", "CN=localhost", "-keyalg", "RSA"]
        .concat(["-keysize", "2048", "-validity", "30", ...store(keystoreFile)]));
      await keytool(["-certreq", "-alias", "broker", "-file", csr, ...store(keystoreFile)]);
    })(),
  ]);
  // Node checks the IP SAN when a client connects to 127.0.0.1.
  await keytool(["-gencert", "-alias", "ca", "-infile", csr, "-outfile", signed, "-rfc", "-validity", "30"]
    .concat(["-ext", "san=ip:127.0.0.1,dns:localhost", "-ext", "eku=serverAuth", ...store(ca)]));
  // The chain must reach the CA, so the CA goes into the keystore before the reply.
  await keytool(["-importcert", "-noprompt", "-alias", "ca", "-file", caFile, ...store(keystoreFile)]);
  await keytool(["-importcert", "-noprompt", "-alias", "broker", "-file", signed, ...store(keystoreFile)]);
  return { caFile, keystoreFile, keystorePassword: password };
}

/** The `export …` lines a client needs for the SASL_SSL listener. */
export function secureEnvText(
  config: Pick<BrokerConfig, "host" | "securePort">,
  caFile: string,
  password: string,
): string {
  return [
    "# Written by `deno task broker up --secure`; removed by `deno task broker down`.",
    `export CHURNCTL_BROKERS=${config.host}:${config.securePort}`,
    "export CHURNCTL_SECURITY_PROTOCOL=sasl_ssl",
    "export CHURNCTL_SASL_MECHANISM=scram-sha-512",
    `export CHURNCTL_SASL_USERNAME=${SECURE_USERNAME}`,
    `export CHURNCTL_SASL_PASSWORD='${password}'`,
    `export CHURNCTL_TLS_CA='${caFile}'`,
    "",
  ].join("\n");
}

/** Creates the temp dir, configuration, TLS material and formatted storage of a new broker. */
async function prepareWorkDir(
  config: BrokerConfig,
  libs: string,
): Promise<{ workDir: string; propertiesFile: string; secure?: SecureMaterial }> {
  const workDir = await Deno.makeTempDir({ prefix: "churnctl-kafka-" });
  try {
    const dataDir = join(workDir, "data");
    let secure: SecureMaterial | undefined;
    if (config.secure) {
      config.progress("making a throwaway CA and broker certificate with keytool…");
      secure = { ...(await makeTlsMaterial(workDir)), saslPassword: randomSecret() };
    }
    const propertiesFile = join(workDir, "server.properties");
    await Deno.writeTextFile(propertiesFile, serverProperties(config, dataDir, secure), { mode: 0o600 });
    await Deno.copyFile(LOG4J_TEMPLATE, join(workDir, "log4j.properties"));

    const args = [...javaArgs(libs, workDir, true), "kafka.tools.StorageTool", "format"]
      .concat(["-t", clusterId(), "-c", propertiesFile]);
    // The SCRAM credential is stored in the metadata log at format time, so
    // the broker needs no live admin call to create it before clients log in.
    if (secure) args.push("--add-scram", `SCRAM-SHA-512=[name=${SECURE_USERNAME},password=${secure.saslPassword}]`);
    const { success, output } = await runTool(jdkTool("java"), args, `java not found: ${INSTALL_HINT}`);
    if (!success) {
      throw new BrokerStartError("kafka-storage format failed", explainingLines(output), "kafka-storage format");
    }
    return { workDir, propertiesFile, secure };
  } catch (error) {
    await removeQuietly(workDir, true);
    throw error;
  }
}

/** JVM arguments: a modest heap, and for one-shot tools a JIT tuned for start-up. */
function javaArgs(libs: string, workDir: string, tool: boolean): string[] {
  const memory = tool
    ? ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    : ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExplicitGCInvokesConcurrent"];
  return [
    ...memory,
    "-Djava.awt.headless=true",
    `-Dlog4j.configuration=file:${join(workDir, "log4j.properties")}`,
    "-cp",
    `${libs}/*`,
  ];
}

// ---------------------------------------------------------------------------
// Starting and waiting

/** Starts the broker JVM detached (its own session), output appended to the log file. */
async function spawnBroker(libs: string, state: Omit<BrokerState, "pid" | "startedAt">): Promise<Deno.ChildProcess> {
  await ensurePrivateDir(dirname(state.logFile));
  // Deno.Command cannot point stdout at a file, so `sh` redirects and then
  // `exec`s java: the pid we record is the JVM's own.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      'exec "$@" >>"$CHURNCTL_BROKER_LOG" 2>&1 </dev/null',
      "sh",
      jdkTool("java"),
      ...javaArgs(libs, state.workDir, false),
      "kafka.Kafka",
      state.propertiesFile,
    ],
    env: { CHURNCTL_BROKER_LOG: state.logFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  child.unref();
  return child;
}

function settingsFor(state: Pick<BrokerState, "host" | "port">): ConnectionSettings {
  return { brokers: [`${state.host}:${state.port}`], clientId: "churnctl-broker-script", connectTimeoutMs: 1000 };
}

/** The settings a client needs for the SASL_SSL listener of a secure broker. */
async function secureSettingsFor(state: BrokerState, password: string): Promise<ConnectionSettings> {
  return {
    brokers: [`${state.host}:${state.securePort}`],
    clientId: "churnctl-broker-script",
    connectTimeoutMs: 2000,
    protocol: "sasl_ssl",
    sasl: { mechanism: "scram-sha-512", username: SECURE_USERNAME, password },
    tls: { ca: await Deno.readTextFile(state.caFile!), caPath: state.caFile },
  };
}

/**
 * Polls until the broker answers a metadata request and can coordinate a
 * consumer group (and, in secure mode, a SCRAM login over TLS), the process
 * dies, or the deadline passes.
 */
async function waitUntilReady(
  config: BrokerConfig,
  state: BrokerState,
  child: Deno.ChildProcess | undefined,
  saslPassword: string | undefined,
): Promise<void> {
  let exited = false;
  child?.status.then(() => exited = true, () => exited = true);
  const deadline = performance.now() + config.readyTimeoutMs;
  let last = "no answer yet";
  let plaintextOk = false;
  while (performance.now() < deadline) {
    if (exited || (child === undefined && !(await isOurBroker(state)))) {
      throw await startFailure(`broker pid ${state.pid} exited during start-up`, state.logFile);
    }
    if (!plaintextOk) {
      const probe = await probeBroker(settingsFor(state), 2000);
      // A node that answers but lists no broker is still registering.
      plaintextOk = probe.ok && (probe.brokers ?? 0) > 0;
      last = probe.error ?? last;
      if (plaintextOk) {
        // Ready means ready for consumer groups too: the first group call on a new broker otherwise fails
        // with "not the correct coordinator" while the offsets topic is created (seen in a fresh-clone CI run).
        const coordinator = await probeGroupCoordinator(settingsFor(state), 3000);
        plaintextOk = coordinator.ok;
        last = coordinator.error ? `group coordinator: ${coordinator.error}` : last;
      }
    }
    // Without the password (secure.env deleted) only the plaintext side can be checked.
    if (plaintextOk && (!state.caFile || !saslPassword)) return;
    if (plaintextOk && saslPassword) {
      const probe = await probeBroker(await secureSettingsFor(state, saslPassword), 3000);
      if (probe.ok) return;
      last = `SASL_SSL listener: ${probe.error}`;
    }
    await sleep(200);
  }
  const text = await readLog(state.logFile);
  throw new BrokerStartError(
    `broker did not answer at ${state.host}:${state.port} within ${seconds(config.readyTimeoutMs)} (${last})`,
    explainingLines(text),
  );
}

/** Starts the JVM for `base`, records it, and waits; on failure stops it again so no JVM is left. */
async function startAndWait(
  config: BrokerConfig,
  libs: string,
  base: Omit<BrokerState, "pid" | "startedAt">,
  saslPassword: string | undefined,
): Promise<BrokerState> {
  config.progress(`starting Kafka ${base.kafkaVersion} (log: ${base.logFile})…`);
  const child = await spawnBroker(libs, base);
  const state: BrokerState = { ...base, pid: child.pid, startedAt: new Date().toISOString() };
  // Recorded before waiting, so a `down` from another terminal can stop a hung start.
  await writeState(config, state);
  try {
    await waitUntilReady(config, state, child, saslPassword);
    return state;
  } catch (error) {
    if (await isOurBroker(state)) await terminate(state).catch(() => {});
    await child.status.catch(() => {});
    throw error;
  }
}

function readSaslPassword(text: string): string | undefined {
  return text.match(/^export CHURNCTL_SASL_PASSWORD='?([^'\n]*)'?$/m)?.[1];
}

// ---------------------------------------------------------------------------
// The five operations

/**
 * Brings a broker up and returns once it answers. Idempotent: when our
 * broker already runs, or anything else answers on the address, it is used.
 *
 * @example
 * ```ts
 * const up = await brokerUp({ secure: true });
 * console.log(up.outcome, up.address, up.secureEnvFile);
 * ```
 */
export async function brokerUp(options: BrokerOptions = {}): Promise<BrokerUpResult> {
  const config = resolveBrokerConfig(options);
  const started = performance.now();
  const address = `${config.host}:${config.port}`;
  const state = await readState(config);
  const ours = state !== undefined && (await isOurBroker(state));

  if (state && ours) {
    if (config.secure && state.mode !== "secure") {
      throw new ChurnctlError(
        `the running broker (pid ${state.pid}) has no SASL_SSL listener: run 'deno task broker down' first`,
      );
    }
    // It may still be starting (an `up` in another terminal): wait for it.
    const password = state.mode === "secure" ? readSaslPassword(await readSecureEnv(config)) : undefined;
    await waitUntilReady(config, state, undefined, password);
    return {
      outcome: "already-running",
      address,
      pid: state.pid,
      elapsedMs: performance.now() - started,
      logFile: state.logFile,
      secureEnvFile: state.mode === "secure" ? secureEnvFile(config) : undefined,
    };
  }

  const probe = await probeBroker(settingsFor(config), 2000);
  if (probe.ok) {
    if (config.secure) {
      throw new ChurnctlError(
        `a broker not started by this script answers at ${address}; stop it or set CHURNCTL_BROKER_PORT to use --secure`,
      );
    }
    return { outcome: "external", address, elapsedMs: performance.now() - started };
  }

  // A recorded broker that is gone: restart it on its data when that still
  // exists and fits the wanted mode (after `stop`), else start afresh.
  if (state) {
    const fits = (state.mode === "secure") === config.secure && (await exists(state.propertiesFile));
    if (fits) return await brokerStart(options);
    await discard(config, state);
  }

  await requireJava();
  const libs = await ensureJars(config);
  config.progress("formatting storage…");
  const { workDir, propertiesFile, secure } = await prepareWorkDir(config, libs);
  const base = {
    mode: config.secure ? "secure" as const : "plaintext" as const,
    kafkaVersion: config.kafkaVersion,
    host: config.host,
    port: config.port,
    controllerPort: config.controllerPort,
    securePort: config.secure ? config.securePort : undefined,
    workDir,
    propertiesFile,
    logFile: logFile(config),
    caFile: secure?.caFile,
  };
  await ensurePrivateDir(brokerDir(config));
  await Deno.writeTextFile(base.logFile, "", { mode: 0o600 }); // a new broker, a new log
  if (secure) await writePrivateFile(secureEnvFile(config), secureEnvText(config, secure.caFile, secure.saslPassword));
  try {
    const running = await startAndWait(config, libs, base, secure?.saslPassword);
    return {
      outcome: "started",
      address,
      pid: running.pid,
      elapsedMs: performance.now() - started,
      logFile: running.logFile,
      secureEnvFile: secure ? secureEnvFile(config) : undefined,
    };
  } catch (error) {
    await discard(config, { ...base, pid: 0, startedAt: "" });
    throw error;
  }
}

async function readSecureEnv(config: BrokerConfig): Promise<string> {
  return await Deno.readTextFile(secureEnvFile(config)).catch(() => "");
}

/** Removes a broker's temp dir, state and `secure.env` (the log stays for reading). */
async function discard(config: BrokerConfig, state: BrokerState): Promise<void> {
  await removeQuietly(state.workDir, true);
  await removeQuietly(stateFile(config));
  if (state.mode === "secure") await removeQuietly(secureEnvFile(config));
}

/**
 * Stops the recorded broker (SIGTERM, then SIGKILL) and removes its data,
 * state and `secure.env`. Succeeds, saying so, when nothing of ours runs.
 */
export async function brokerDown(options: BrokerOptions = {}): Promise<BrokerStopResult> {
  const config = resolveBrokerConfig(options);
  const state = await readState(config);
  if (!state) {
    return { killed: false, elapsedMs: 0, message: "no broker started by this script is recorded; nothing to stop" };
  }
  const stopped = (await isOurBroker(state)) ? await terminate(state) : undefined;
  await discard(config, state);
  const how = stopped ? `stopped broker pid ${state.pid} in ${seconds(stopped.elapsedMs)}` : "broker was not running";
  return {
    pid: stopped ? state.pid : undefined,
    killed: stopped?.killed ?? false,
    elapsedMs: stopped?.elapsedMs ?? 0,
    message: `${how}${stopped?.killed ? " (SIGKILL)" : ""}; removed ${state.workDir}`,
  };
}

/**
 * Kills the recorded broker but keeps its data and state, so {@link brokerStart}
 * can bring the same broker back (the chaos soak's "broker dies" step).
 */
export async function brokerStop(options: BrokerOptions = {}): Promise<BrokerStopResult> {
  const config = resolveBrokerConfig(options);
  const state = await readState(config);
  if (!state) throw new ChurnctlError("no broker started by this script is recorded: run 'deno task broker up'");
  if (!(await isOurBroker(state))) {
    return { killed: false, elapsedMs: 0, message: `broker pid ${state.pid} is already stopped; data kept` };
  }
  const stopped = await terminate(state);
  return {
    pid: state.pid,
    ...stopped,
    message: `stopped broker pid ${state.pid} in ${seconds(stopped.elapsedMs)}; data kept in ${state.workDir}`,
  };
}

/** Starts the recorded broker again on the same data and ports, and waits until it answers. */
export async function brokerStart(options: BrokerOptions = {}): Promise<BrokerUpResult> {
  const config = resolveBrokerConfig(options);
  const started = performance.now();
  const state = await readState(config);
  if (!state) throw new ChurnctlError("no broker started by this script is recorded: run 'deno task broker up'");
  if (!(await exists(state.propertiesFile))) {
    throw new ChurnctlError(
      `the data of the recorded broker is gone (${state.workDir}): run 'deno task broker down' then 'up'`,
    );
  }
  const address = `${state.host}:${state.port}`;
  const password = state.mode === "secure" ? readSaslPassword(await readSecureEnv(config)) : undefined;
  const secureEnv = state.mode === "secure" ? secureEnvFile(config) : undefined;
  if (await isOurBroker(state)) {
    await waitUntilReady(config, state, undefined, password);
    const elapsedMs = performance.now() - started;
    return {
      outcome: "already-running",
      address,
      pid: state.pid,
      elapsedMs,
      logFile: state.logFile,
      secureEnvFile: secureEnv,
    };
  }
  await requireJava();
  const libs = await ensureJars({ ...config, kafkaVersion: state.kafkaVersion });
  const { pid: _pid, startedAt: _startedAt, ...base } = state;
  const running = await startAndWait(config, libs, base, password);
  return {
    outcome: "started",
    address,
    pid: running.pid,
    elapsedMs: performance.now() - started,
    logFile: running.logFile,
    secureEnvFile: secureEnv,
  };
}

/** Reports whether the recorded broker runs and whether anything answers on the address. */
export async function brokerStatus(options: BrokerOptions = {}): Promise<BrokerStatus> {
  const config = resolveBrokerConfig(options);
  const state = await readState(config);
  const where = state ?? config;
  return {
    state,
    running: state !== undefined && (await isOurBroker(state)),
    address: `${where.host}:${where.port}`,
    probe: await probeBroker(settingsFor(where), 3000),
  };
}

// ---------------------------------------------------------------------------
// Command line

/** Help text of `deno task broker`. */
export const HELP = `Usage: deno task broker <up|down|status|stop|start> [--secure]

A local Apache Kafka (KRaft, one JVM) for tests and the demo, from Maven Central.
Needs Java 17 and Maven 3.

Commands:
  up       start a broker on 127.0.0.1:19092 and wait until it answers
           (uses one that already answers; --secure adds SASL_SSL on :19094 and
           writes .churnctl/secure.env)
  down     stop it and remove its data
  status   say whether it runs and answers (exit 0 when it answers, 1 if not)
  stop     kill it but keep its data (for chaos tests)
  start    start it again on the same data and ports

Environment: CHURNCTL_STATE_DIR, CHURNCTL_BROKER_PORT, CHURNCTL_KAFKA_VERSION, JAVA_HOME.`;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function describeUp(result: BrokerUpResult): string {
  const where = result.pid ? ` (pid ${result.pid}, log ${result.logFile})` : "";
  const secure = result.secureEnvFile ? `; SASL_SSL settings in ${result.secureEnvFile}` : "";
  switch (result.outcome) {
    case "started":
      return `broker answers at ${result.address} after ${seconds(result.elapsedMs)}${where}${secure}`;
    case "already-running":
      return `broker already running at ${result.address}${where}${secure}`;
    case "external":
      return `a broker not started by this script already answers at ${result.address}; using it`;
  }
}

/** Parses and runs one command line; returns the exit code (only the entry point exits). */
export async function main(args: string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: { secure: { type: "boolean" }, help: { type: "boolean", short: "h" } },
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError(`broker: ${oneLine(error)}`);
    }
    const [command, extra] = parsed.positionals;
    if (parsed.values.help || command === "help") {
      console.log(HELP);
      return EXIT_OK;
    }
    if (extra !== undefined) throw new UsageError(`broker: unexpected argument '${extra}'`);
    if (parsed.values.secure && command !== "up") throw new UsageError("broker: --secure goes with 'up'");
    switch (command) {
      case "up":
        console.log(describeUp(await brokerUp({ secure: parsed.values.secure })));
        return EXIT_OK;
      case "start":
        console.log(describeUp(await brokerStart()));
        return EXIT_OK;
      case "down":
        console.log((await brokerDown()).message);
        return EXIT_OK;
      case "stop":
        console.log((await brokerStop()).message);
        return EXIT_OK;
      case "status":
        return printStatus(await brokerStatus());
      case undefined:
        throw new UsageError("broker: missing command: up, down, status, stop or start");
      default:
        throw new UsageError(`broker: unknown command '${command}' (up, down, status, stop, start)`);
    }
  } catch (error) {
    if (!(error instanceof ChurnctlError)) {
      console.error(`error: ${oneLine(error)}`);
      return EXIT_FAILURE;
    }
    console.error(`error: ${error.message}`);
    if (error instanceof BrokerStartError && error.logTail.length > 0) {
      console.error(`last lines of ${error.source}:\n` + error.logTail.map((line) => `  ${line}`).join("\n"));
    }
    return error.exitCode;
  }
}

function printStatus(status: BrokerStatus): number {
  const process = status.state
    ? `${
      status.running ? "running" : "stopped"
    } (pid ${status.state.pid}, ${status.state.mode}, data ${status.state.workDir})`
    : "no broker started by this script";
  const answers = status.probe.ok ? `answers: yes (${status.probe.rttMs} ms)` : `answers: no (${status.probe.error})`;
  console.log(`${process}\naddress: ${status.address}\n${answers}`);
  if (status.state?.mode === "secure") console.log(`secure: ${status.state.host}:${status.state.securePort}`);
  return status.probe.ok ? EXIT_OK : EXIT_FAILURE;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
