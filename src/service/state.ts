/**
 * Liveness and readiness of a long-running consumer, as plain values the
 * consumer loop updates and `/healthz` and `/ready` read. No broker, no
 * timers: a test drives it with a fake clock.
 *
 * Liveness asks "is the loop still turning?" (a supervisor restarts the
 * process when not); readiness asks "is it doing its job?" (connected,
 * a member of the group, model loaded) — a process can be alive and not ready
 * while the broker is down, and restarting it would not help.
 *
 * @module
 */

/** Where the consumer stands in its group. */
export type AssignmentState = "unjoined" | "rebalancing" | "assigned";

/** The answer of `/healthz`. */
export interface Liveness {
  /** True while the loop ticked within the allowed silence. */
  alive: boolean;
  /** Milliseconds since the last tick. */
  sinceTickMs: number;
  /** The allowed silence, in ms. */
  maxSilenceMs: number;
}

/** The answer of `/ready`. */
export interface Readiness {
  /** True when every check passes. */
  ready: boolean;
  /** Each check and whether it passes. */
  checks: { broker: boolean; partitions: boolean; model: boolean; running: boolean };
  /** One short reason per failing check, e.g. `broker: not connected`. */
  notReady: string[];
  /** Partitions assigned (when joined). */
  assigned?: number;
  /** Model version, once loaded. */
  model?: string;
}

/** Options of {@link ServiceState}. */
export interface ServiceStateOptions {
  /** Liveness fails when the loop has not ticked for this long, in ms. @default 60000 */
  maxSilenceMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * What the consumer loop reports about itself.
 *
 * The loop calls {@link tick} whenever it turns — after each batch and on
 * each idle fetch or group heartbeat, so a quiet topic does not look dead.
 *
 * @example
 * ```ts
 * const state = new ServiceState();
 * state.markConnected(true);
 * state.markModelLoaded("v3");
 * state.markAssigned(3);
 * state.readiness().ready; // true
 * ```
 */
export class ServiceState {
  #now: () => number;
  #maxSilenceMs: number;
  #lastTick: number;
  #connected = false;
  #brokerError: string | undefined;
  #model: string | undefined;
  #assignment: AssignmentState = "unjoined";
  #assigned = 0;
  #stopping = false;

  constructor(options: ServiceStateOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxSilenceMs = options.maxSilenceMs ?? 60000;
    // Starting counts as a tick: the process is alive until it proves otherwise.
    this.#lastTick = this.#now();
  }

  /** The loop turned: liveness is renewed. */
  tick(): void {
    this.#lastTick = this.#now();
  }

  /** The broker connection came up (`true`) or was lost (`false`, with a one-line reason). */
  markConnected(connected: boolean, reason?: string): void {
    this.#connected = connected;
    this.#brokerError = connected ? undefined : reason;
    if (!connected) this.#assignment = "unjoined";
  }

  /** The model is loaded and scored its canary. */
  markModelLoaded(version = "unknown"): void {
    this.#model = version;
  }

  /** The group rebalance finished; `count` partitions are ours (0 is a clean idle member of a larger group). */
  markAssigned(count: number): void {
    this.#assignment = "assigned";
    this.#assigned = count;
  }

  /** A group rebalance started: partitions are being reassigned, which is normal and still ready. */
  markRebalancing(): void {
    this.#assignment = "rebalancing";
  }

  /** The coordinator does not count this consumer as a group member (group `Empty` or `Dead`). */
  markUnjoined(): void {
    this.#assignment = "unjoined";
  }

  /** Shutdown began: readiness fails so a supervisor stops routing to this instance. */
  markStopping(): void {
    this.#stopping = true;
  }

  /** Whether the loop ticked recently enough. */
  liveness(): Liveness {
    const sinceTickMs = Math.max(0, this.#now() - this.#lastTick);
    return { alive: sinceTickMs <= this.#maxSilenceMs, sinceTickMs, maxSilenceMs: this.#maxSilenceMs };
  }

  /** Whether the consumer is doing its job, and if not, why. */
  readiness(): Readiness {
    const notReady: string[] = [];
    if (!this.#connected) notReady.push(`broker: ${this.#brokerError ?? "not connected"}`);
    const partitions = this.#connected && this.#assignment !== "unjoined";
    if (this.#connected && !partitions) notReady.push("partitions: not yet a member of the consumer group");
    if (this.#model === undefined) notReady.push("model: not loaded");
    if (this.#stopping) notReady.push("running: shutting down");
    const result: Readiness = {
      ready: notReady.length === 0,
      checks: { broker: this.#connected, partitions, model: this.#model !== undefined, running: !this.#stopping },
      notReady,
    };
    if (this.#assignment === "assigned") result.assigned = this.#assigned;
    if (this.#model !== undefined) result.model = this.#model;
    return result;
  }

  /** The group state as a word, for logs: `unjoined`, `rebalancing` or `assigned`. */
  get assignment(): AssignmentState {
    return this.#assignment;
  }
}
