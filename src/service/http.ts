/**
 * The operations endpoint of a long-running command: `GET /metrics`
 * (Prometheus text format), `GET /healthz` (liveness) and `GET /ready`
 * (readiness), like Redpanda Connect's `/metrics`, `/ping` and `/ready`.
 * Off unless `--metrics-addr` is set; loopback is the documented default,
 * and any other address is served with a warning, not refused (a container
 * must bind 0.0.0.0 for Prometheus to reach it).
 *
 * @module
 */
import { ConfigError, UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { ServiceMetrics } from "./metrics.ts";
import type { ServiceState } from "./state.ts";

/** A parsed `--metrics-addr`. */
export interface ListenAddress {
  /** Host name or IP to bind (IPv6 without brackets). */
  hostname: string;
  /** TCP port; 0 asks the system for a free one (tests). */
  port: number;
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (all interfaces).
 * Throws {@link UsageError} naming `source` when the text is not an address.
 */
export function parseListenAddress(text: string, source = "--metrics-addr"): ListenAddress {
  const match = text.trim().match(/^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]*)):(\d{1,5})$/);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new UsageError(`${source}: '${text}' is not host:port (e.g. 127.0.0.1:9464)`);
  }
  const hostname = match[1] ?? (match[2] === "" ? "0.0.0.0" : match[2]);
  return { hostname, port };
}

/** True for addresses only this machine can reach: `localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", { status, headers: JSON_HEADERS });
}

/** Answers one request to the endpoint; exported so it can be tested without a socket. */
export async function handleServiceRequest(
  request: Request,
  metrics: ServiceMetrics,
  state: ServiceState,
): Promise<Response> {
  const { pathname } = new URL(request.url);
  const known = pathname === "/metrics" || pathname === "/healthz" || pathname === "/ready";
  if (!known) return json(404, { error: `no such endpoint ${pathname}; try /metrics, /healthz or /ready` });
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
  }
  if (pathname === "/metrics") {
    return new Response(await metrics.render(), {
      status: 200,
      headers: { "content-type": metrics.contentType, "cache-control": "no-store" },
    });
  }
  if (pathname === "/healthz") {
    const live = state.liveness();
    return json(live.alive ? 200 : 503, {
      status: live.alive ? "ok" : "stalled",
      since_tick_ms: live.sinceTickMs,
      max_silence_ms: live.maxSilenceMs,
    });
  }
  const ready = state.readiness();
  return json(ready.ready ? 200 : 503, {
    status: ready.ready ? "ready" : "not ready",
    ...(ready.ready ? {} : { not_ready: ready.notReady }),
    checks: ready.checks,
    ...(ready.assigned === undefined ? {} : { assigned_partitions: ready.assigned }),
    ...(ready.model === undefined ? {} : { model: ready.model }),
  });
}

/** Options of {@link startServiceEndpoint}. */
export interface EndpointOptions {
  /** Where to listen. */
  address: ListenAddress;
  /** What `/metrics` shows. */
  metrics: ServiceMetrics;
  /** What `/healthz` and `/ready` report. */
  state: ServiceState;
  /** Startup line, the non-loopback warning and handler errors go here. */
  log?: Logger;
}

/** A listening endpoint; see {@link startServiceEndpoint}. */
export interface ServiceEndpoint {
  /** The bound host. */
  readonly hostname: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  /** Stops listening and waits for requests in flight; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts serving `/metrics`, `/healthz` and `/ready`. Throws
 * {@link ConfigError} when the address cannot be bound (in use, not local).
 *
 * @example
 * ```ts
 * const endpoint = startServiceEndpoint({ address: parseListenAddress("127.0.0.1:0"), metrics, state });
 * await fetch(`${endpoint.url}/metrics`);
 * await endpoint.close();
 * ```
 */
export function startServiceEndpoint(options: EndpointOptions): ServiceEndpoint {
  const { address, metrics, state, log } = options;
  const shown = address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: address.hostname,
      port: address.port,
      onListen: () => {},
      onError: (error) => {
        log?.error("metrics endpoint failed a request", {
          error: error instanceof Error ? error.message : String(error),
        });
        return json(500, { error: "internal error" });
      },
    }, (request) => handleServiceRequest(request, metrics, state));
  } catch (error) {
    const reason = error instanceof Deno.errors.AddrInUse
      ? "address already in use"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new ConfigError(`--metrics-addr ${shown}: cannot listen: ${reason}`, { cause: error });
  }
  const hostname = server.addr.hostname;
  const port = server.addr.port;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  if (!isLoopback(address.hostname)) {
    log?.warn("metrics endpoint listens beyond this machine: anyone who reaches it can read /metrics", {
      address: shown,
    });
  }
  log?.info("serving /metrics, /healthz and /ready", { url });
  let closing: Promise<void> | undefined;
  return {
    hostname,
    port,
    url,
    close: () => closing ??= server.shutdown(),
  };
}
