/**
 * Turns kafkajs and socket errors into one line a user can act on.
 *
 * @module
 */
import { BrokerError, ChurnctlError, oneLine } from "../errors.ts";
import type { ConnectionSettings } from "./client.ts";

/** Walks `originalError`/`cause` chains so the root reason (ECONNREFUSED, a TLS code, a Kafka error type) is found. */
export function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 8; depth++) {
    chain.push(current);
    const next = (current as { originalError?: unknown; cause?: unknown }).originalError ??
      (current as { cause?: unknown }).cause;
    current = next === current ? undefined : next;
  }
  return chain;
}

/** The reason text of every error in the chain: name, type, code and message. */
function reasonText(error: unknown): string {
  return causes(error).map((item) => {
    const value = item as { message?: string; code?: string | number; type?: string; name?: string };
    return [value.name, value.type, value.code, value.message].filter(Boolean).join(" ");
  }).join(" | ");
}

/** Node's own words for a certificate failure (`self-signed certificate in certificate chain`). */
function certificateReason(error: unknown): string | undefined {
  for (const item of causes(error)) {
    const message = (item as { message?: string }).message;
    const reason = message?.replace(/^Connection error: /, "");
    if (reason && /certificate|self[- ]signed|unable to (get|verify)|altnames|Hostname\/IP/i.test(reason)) {
      return oneLine(reason);
    }
  }
  return undefined;
}

/**
 * Describes a failure to talk to the broker in one line, naming what to check.
 * The security protocol in use decides how an abrupt close is read: a
 * plaintext client closed at once is probably talking to a TLS listener, a
 * TLS client reset before the handshake ends probably to a plaintext one.
 */
export function describeKafkaError(
  error: unknown,
  settings: ConnectionSettings,
): string {
  if (error instanceof ChurnctlError) return error.message;
  const where = settings.brokers.join(",");
  const text = reasonText(error);
  const protocol = settings.protocol ?? "plaintext";
  const usesTls = protocol === "ssl" || protocol === "sasl_ssl";
  const usesSasl = protocol === "sasl_plaintext" || protocol === "sasl_ssl";
  const mechanism = settings.sasl?.mechanism.toUpperCase();
  const protocolHint = `CHURNCTL_SECURITY_PROTOCOL is ${protocol}`;

  if (/UNSUPPORTED_SASL_MECHANISM/.test(text)) {
    return `the broker at ${where} does not offer SASL ${mechanism ?? ""} (check CHURNCTL_SASL_MECHANISM)`;
  }
  if (/ILLEGAL_SASL_STATE/.test(text)) {
    return `the listener at ${where} does not take SASL (${protocolHint}: try ${usesTls ? "ssl" : "plaintext"})`;
  }
  if (/SASLAuthentication|authentication failed|Authentication failed|SASL_AUTHENTICATION_FAILED/i.test(text)) {
    const who = settings.sasl ? ` for user '${settings.sasl.username}'` : "";
    return `authentication failed at ${where}: SASL ${
      mechanism ?? "login"
    } rejected the credentials${who} (check CHURNCTL_SASL_USERNAME, CHURNCTL_SASL_PASSWORD and CHURNCTL_SASL_MECHANISM)`;
  }
  const certificate = usesTls ? certificateReason(error) : undefined;
  if (certificate || /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_|ERR_TLS_CERT/.test(text)) {
    const ca = settings.tls?.caPath ? `CA file ${settings.tls.caPath}` : "the system CAs (no CHURNCTL_TLS_CA set)";
    return `TLS certificate verification failed for ${where} against ${ca}: ${
      certificate ?? "the broker certificate is not trusted"
    } (check CHURNCTL_TLS_CA)`;
  }
  if (/ECONNREFUSED|Connection refused/i.test(text)) {
    return `no broker at ${where}: connection refused (is it running? try 'deno task broker up')`;
  }
  if (/ENOTFOUND|getaddrinfo|EAI_AGAIN/i.test(text)) {
    return `cannot resolve broker host in ${where}`;
  }
  if (usesTls && /before secure TLS connection|wrong version number|EPROTO|packet length too long/i.test(text)) {
    return `TLS handshake with ${where} failed: it looks like a plaintext listener (${protocolHint}; try ${
      usesSasl ? "sasl_plaintext" : "plaintext"
    } or the TLS port)`;
  }
  if (/Closed connection|ECONNRESET|socket hang up|EPIPE/i.test(text)) {
    if (!usesTls) {
      return `${where} closed the connection at once: it looks like a TLS listener (${protocolHint}; try ${
        usesSasl ? "sasl_ssl" : "ssl or sasl_ssl"
      } with CHURNCTL_TLS_CA)`;
    }
    if (!usesSasl) {
      return `${where} closed the connection after the TLS handshake: the listener probably requires SASL (${protocolHint}; try sasl_ssl)`;
    }
    return `${where} closed the connection during the handshake (check CHURNCTL_SECURITY_PROTOCOL and the port)`;
  }
  if (/timed? ?out|ETIMEDOUT/i.test(text)) {
    return `broker at ${where} did not answer in time (wrong address, or a TLS listener spoken to in plaintext or the reverse? ${protocolHint})`;
  }
  return `broker ${where}: ${oneLine(error)}`;
}

/** Wraps a broker failure as a {@link BrokerError} with a one-line message. */
export function toBrokerError(
  error: unknown,
  settings: ConnectionSettings,
): ChurnctlError {
  if (error instanceof ChurnctlError) return error;
  return new BrokerError(describeKafkaError(error, settings), { cause: error });
}

/** Rejects with `onTimeout()` when `promise` takes longer than `ms`; clears its timer either way. */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// What a broker restart looks like from kafkajs: refused or dropped connections, requests timing out, and a
// coordinator lookup that found no broker to answer ("Failed to find group coordinator", non-retriable in kafkajs).
const BROKER_AWAY_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSGroupCoordinatorNotFound",
  "KafkaJSBrokerNotFound",
]);
const BROKER_AWAY_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT"]);
const BROKER_AWAY_TYPES = new Set(["NOT_LEADER_FOR_PARTITION", "NOT_LEADER_OR_FOLLOWER", "LEADER_NOT_AVAILABLE"]);
const BROKER_AWAY_MESSAGE = /Failed to find group coordinator|ECONNREFUSED|Connection error|Closed connection/i;

/**
 * True when the error (or one it wraps) is what a broker going away and coming back causes: worth retrying for as
 * long as a restart takes rather than stopping.
 */
export function isBrokerAway(error: unknown): boolean {
  return causes(error).some((item) => {
    const { name, code, type, message } = item as { name?: unknown; code?: unknown; type?: unknown; message?: unknown };
    return (typeof name === "string" && BROKER_AWAY_NAMES.has(name)) ||
      (typeof code === "string" && BROKER_AWAY_CODES.has(code)) ||
      (typeof type === "string" && BROKER_AWAY_TYPES.has(type)) ||
      (typeof message === "string" && BROKER_AWAY_MESSAGE.test(message));
  });
}
