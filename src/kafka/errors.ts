/**
 * Turns kafkajs and socket errors into one line a user can act on.
 *
 * @module
 */
import { BrokerError, ChurnctlError, oneLine } from "../errors.ts";
import type { ConnectionSettings } from "./client.ts";

/** Walks `cause` chains so the root reason (ECONNREFUSED, a TLS code) is found. */
function causes(error: unknown): unknown[] {
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

/** Describes a failure to talk to the broker in one line, naming what to check. */
export function describeKafkaError(
  error: unknown,
  settings: ConnectionSettings,
): string {
  if (error instanceof ChurnctlError) return error.message;
  const where = settings.brokers.join(",");
  const text = causes(error).map((item) => {
    const value = item as {
      message?: string;
      code?: string;
      type?: string;
      name?: string;
    };
    return [value.name, value.type, value.code, value.message].filter(Boolean)
      .join(" ");
  }).join(" | ");
  const mechanism = settings.sasl?.mechanism.toUpperCase();
  if (
    /SASL|authentication|Authentication failed|ILLEGAL_SASL_STATE/i.test(
      text,
    ) && mechanism
  ) {
    return `authentication failed at ${where} with SASL ${mechanism} for user '${settings.sasl?.username}': check CHURNCTL_SASL_USERNAME/CHURNCTL_SASL_PASSWORD`;
  }
  if (
    /self[- ]signed|unable to (get|verify)|UNABLE_TO_VERIFY|certificate|CERT_/i
      .test(text)
  ) {
    const ca = settings.tls?.caPath ? ` with CA ${settings.tls.caPath}` : " with the system CAs";
    return `TLS certificate verification failed for ${where}${ca}: check CHURNCTL_TLS_CA`;
  }
  if (/ECONNREFUSED|Connection refused/i.test(text)) {
    return `no broker at ${where}: connection refused (is it running? try 'deno task broker up')`;
  }
  if (/ENOTFOUND|getaddrinfo|EAI_AGAIN/i.test(text)) {
    return `cannot resolve broker host in ${where}`;
  }
  if (/timed? ?out|ETIMEDOUT/i.test(text)) {
    return `broker at ${where} did not answer in time (wrong address, a TLS listener spoken to in plaintext, or the reverse?)`;
  }
  if (
    /EPROTO|wrong version number|packet length too long|ECONNRESET|socket hang up|Closed connection/i
      .test(text)
  ) {
    return `the connection to ${where} was closed during the handshake (TLS vs plaintext mismatch? check CHURNCTL_SECURITY_PROTOCOL)`;
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
