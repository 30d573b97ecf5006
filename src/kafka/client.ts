/**
 * The one place that builds a Kafka client. Everything under `src/kafka/`
 * takes a {@link ConnectionSettings} plain value; nothing outside this folder
 * imports kafkajs, so another client library would be a one-folder change.
 *
 * @module
 */
import "./quiet.ts";
// Before kafkajs loads: measured hot-path fixes (see patches.ts).
import "./patches.ts";
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import type { Logger } from "../log.ts";

/** Security protocols, named as Kafka's `security.protocol`. */
export type SecurityProtocol =
  | "plaintext"
  | "ssl"
  | "sasl_plaintext"
  | "sasl_ssl";
/** SASL mechanisms churnctl supports. */
export type SaslMechanism = "scram-sha-256" | "scram-sha-512" | "plain";

/** Everything needed to open a connection; built by `src/config.ts`. */
export interface ConnectionSettings {
  /** Bootstrap `host:port` addresses. */
  brokers: string[];
  /** Client id reported to the broker. */
  clientId: string;
  /** Connect timeout per attempt, in ms. */
  connectTimeoutMs: number;
  /** `security.protocol`. @default "plaintext" */
  protocol?: SecurityProtocol;
  /** SASL settings when the protocol is `sasl_*`. */
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
  /** TLS settings when the protocol is `ssl` or `sasl_ssl`. */
  tls?: {
    /** PEM text of the CA bundle (already read from the file). */
    ca?: string;
    /** Path of the CA file, for error messages. */
    caPath?: string;
    /** PEM client certificate. */
    cert?: string;
    /** PEM client key. */
    key?: string;
    /** Skip server certificate verification (warned about on every use). */
    insecureSkipVerify?: boolean;
  };
}

/** Options of {@link createKafka}. */
export interface ClientOptions {
  /** Retries of each request (kafkajs default 5; `health` wants 0). */
  retries?: number;
  /** Request timeout in ms. */
  requestTimeoutMs?: number;
  /** Where kafkajs's own log lines go (at debug level, so they do not drown ours). */
  logger?: Logger;
}

/** Builds a kafkajs client from plain settings. */
export function createKafka(
  settings: ConnectionSettings,
  options: ClientOptions = {},
): Kafka {
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: settings.connectTimeoutMs,
    authenticationTimeout: settings.connectTimeoutMs,
    requestTimeout: options.requestTimeoutMs ?? 30000,
    retry: {
      retries: options.retries ?? 5,
      initialRetryTime: 100,
      maxRetryTime: 2000,
    },
    logLevel: options.logger?.enabled("debug") ? logLevel.INFO : logLevel.NOTHING,
    logCreator: () => ({ namespace, label, log }) => {
      options.logger?.debug(`kafkajs ${label} ${namespace}: ${log.message}`);
    },
  };
  const protocol = settings.protocol ?? "plaintext";
  if (protocol === "ssl" || protocol === "sasl_ssl") {
    const tls = settings.tls ?? {};
    config.ssl = {
      ca: tls.ca ? [tls.ca] : undefined,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: !tls.insecureSkipVerify,
    };
  }
  if (
    (protocol === "sasl_plaintext" || protocol === "sasl_ssl") && settings.sasl
  ) {
    config.sasl = {
      mechanism: settings.sasl.mechanism,
      username: settings.sasl.username,
      password: settings.sasl.password,
    } as SASLOptions;
  }
  return new Kafka(config);
}
