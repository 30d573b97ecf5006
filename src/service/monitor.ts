/**
 * Everything a long-running consumer needs to be operated, in one object the
 * command wires in: metrics, liveness/readiness state, the optional HTTP
 * endpoint, and a poller of the group's committed lag (which also tells
 * whether the broker still answers and whether the group is rebalancing).
 *
 * It takes the lag reader as a plain function, so nothing here imports the
 * Kafka client; the command passes one built on `src/kafka/admin.ts`.
 *
 * @module
 */
import { oneLine } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { BatchOutcome } from "../pipeline/process.ts";
import type { BatchObserver, BatchTiming } from "../pipeline/stats.ts";
import { type ListenAddress, type ServiceEndpoint, startServiceEndpoint } from "./http.ts";
import { ServiceMetrics } from "./metrics.ts";
import { ServiceState } from "./state.ts";

/** Lag of one partition from the group's committed offset. */
export interface PartitionLagReading {
  /** Partition number. */
  partition: number;
  /** High watermark minus committed offset (everything, when nothing is committed). */
  lag: number;
}

/** One reading of the group: its state as the coordinator reports it, and lag per partition. */
export interface LagReading {
  /** Coordinator's group state: `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`. */
  state: string;
  /** Per partition of the input topic. */
  partitions: readonly PartitionLagReading[];
}

/** Options of {@link ConsumerMonitor}. */
export interface ConsumerMonitorOptions {
  /** Input topic (the lag label). */
  topic: string;
  /** churnctl version for `churnctl_build_info`. */
  version: string;
  /** Serve `/metrics`, `/healthz`, `/ready` here; no endpoint when undefined. */
  address?: ListenAddress;
  /** Reads the group's state and committed lag (from the broker's admin API). */
  readLag: () => Promise<LagReading>;
  /** Partitions this member owns now (from the consumer's own assignment). */
  assigned: () => readonly number[];
  /** How often lag is read, in ms. @default 5000 */
  intervalMs?: number;
  /** Liveness fails after this long without a tick, in ms. @default 60000 */
  maxSilenceMs?: number;
  /** Endpoint and poll messages. */
  log?: Logger;
}

const REBALANCING_STATES = new Set(["PreparingRebalance", "CompletingRebalance"]);

/**
 * Metrics, health and lag of one consumer. A {@link BatchObserver}: add it to
 * the consumer's observers and every committed batch is counted.
 *
 * @example
 * ```ts
 * const monitor = new ConsumerMonitor({ topic, version: VERSION, readLag, assigned: () => source.state().assigned });
 * monitor.start();                       // endpoint up: /ready is 503 until the broker answers
 * monitor.markModelLoaded(scorer.version);
 * monitor.markConnected();               // starts the lag poller
 * // … loop: monitor.tick(); observers include monitor …
 * await monitor.close();
 * ```
 */
export class ConsumerMonitor implements BatchObserver {
  /** The Prometheus metrics. */
  readonly metrics: ServiceMetrics;
  /** Liveness and readiness. */
  readonly state: ServiceState;
  #options: ConsumerMonitorOptions;
  #endpoint: ServiceEndpoint | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling: Promise<void> | undefined;
  #closed = false;
  #started = false;
  #lag = new Map<number, number>();
  #lastPollError: string | undefined;

  constructor(options: ConsumerMonitorOptions) {
    this.#options = options;
    this.metrics = new ServiceMetrics({ version: options.version });
    this.state = new ServiceState({ maxSilenceMs: options.maxSilenceMs });
    this.metrics.trackReadiness(() => this.state.readiness());
  }

  /** Starts the endpoint (when an address was given); throws `ConfigError` when it cannot listen. */
  start(): void {
    if (this.#options.address) {
      this.#endpoint = startServiceEndpoint({
        address: this.#options.address,
        metrics: this.metrics,
        state: this.state,
        log: this.#options.log,
      });
    }
  }

  /** The endpoint's base URL, when it listens. */
  get url(): string | undefined {
    return this.#endpoint?.url;
  }

  /** The model is loaded. */
  markModelLoaded(version: string): void {
    this.state.markModelLoaded(version);
    this.metrics.setModel(version);
  }

  /** The consumer connected and subscribed: readiness now follows the lag poller, which starts here. */
  markConnected(): void {
    this.state.markConnected(true);
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Shutdown began: `/ready` turns 503 (the endpoint keeps answering until {@link close}). */
  markStopping(): void {
    this.state.markStopping();
  }

  /** The loop turned (renews liveness). */
  tick(): void {
    this.state.tick();
  }

  /** Counts an error by kind. */
  recordError(kind: string): void {
    this.metrics.recordError(kind);
  }

  /** A batch was written and committed. */
  observeBatch(outcome: BatchOutcome, timing: BatchTiming): void {
    this.metrics.observeBatch(outcome, timing);
    this.state.tick();
  }

  /** Lag per partition from the last reading, e.g. `{ 0: 0, 1: 12 }` (for progress lines). */
  lagByPartition(): Record<string, number> {
    return Object.fromEntries([...this.#lag].sort(([a], [b]) => a - b).map(([partition, lag]) => [partition, lag]));
  }

  /** Reads lag now (the poller does this on its own; tests and shutdown call it directly). */
  async poll(): Promise<void> {
    try {
      const reading = await this.#options.readLag();
      this.#lag = new Map(reading.partitions.map((item) => [item.partition, item.lag]));
      this.metrics.setTopicLag(this.#options.topic, reading.partitions);
      if (this.#lastPollError !== undefined) {
        this.#options.log?.info("broker answers again", { group_state: reading.state });
        this.#lastPollError = undefined;
      }
      this.state.markConnected(true);
      this.#refreshAssignment(reading.state);
    } catch (error) {
      const reason = oneLine(error);
      this.metrics.recordError("broker");
      this.state.markConnected(false, reason);
      if (reason !== this.#lastPollError) this.#options.log?.warn("cannot read consumer lag", { error: reason });
      this.#lastPollError = reason;
    }
  }

  /** Stops the poller and the endpoint; waits for a poll in flight. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#polling;
    await this.#endpoint?.close();
  }

  #refreshAssignment(groupState: string): void {
    const assigned = this.#options.assigned().length;
    this.metrics.setAssigned(assigned);
    if (REBALANCING_STATES.has(groupState)) this.state.markRebalancing();
    else if (groupState === "Stable") this.state.markAssigned(assigned);
    // Empty or Dead while we run: the coordinator does not count us as a member.
    else this.state.markUnjoined();
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#polling = this.poll().finally(() => {
        this.#polling = undefined;
        if (!this.#closed) this.#schedule(this.#options.intervalMs ?? 5000);
      });
    }, delayMs);
  }
}
