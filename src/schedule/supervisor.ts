/**
 * Keeps one long-running child (the streaming consumer) alive: starts it,
 * notices when it exits, restarts it after a back-off that grows while it
 * keeps dying (1 s, 2 s, 4 s … 60 s, reset after a minute of good health),
 * and says so in the log every time. Stopping sends SIGTERM so the consumer
 * commits what it finished, then SIGKILL after a grace period.
 *
 * @module
 */
import type { Logger } from "../log.ts";

/** Something that can be started and stopped as a process (a `Deno.ChildProcess` in production). */
export interface Supervisable {
  /** Process id. */
  readonly pid: number;
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number>;
  /** Asks it to stop (SIGTERM, then SIGKILL after the grace period); resolves when it has. */
  stop(): Promise<number>;
}

/** Options of {@link Supervisor}. */
export interface SupervisorOptions {
  /** What is supervised, for log lines. */
  name: string;
  /** Starts one instance. */
  start: () => Supervisable;
  /** Log lines. */
  log: Logger;
  /** First restart delay. @default 1000 */
  initialBackoffMs?: number;
  /** Longest restart delay. @default 60000 */
  maxBackoffMs?: number;
  /** A run this long resets the back-off. @default 60000 */
  healthyAfterMs?: number;
}

/** Facts for the watchdog's log line and run record. */
export interface SupervisorStatus {
  /** Whether an instance runs now. */
  running: boolean;
  /** Its pid. */
  pid?: number;
  /** Starts so far (first start included). */
  starts: number;
  /** Restarts after an exit. */
  restarts: number;
  /** Exit code of the last instance that ended. */
  lastExitCode?: number;
}

/** Supervises one child; see the module doc. */
export class Supervisor {
  #options: Required<SupervisorOptions>;
  #current: Supervisable | undefined;
  #startedAt = 0;
  #starts = 0;
  #restarts = 0;
  #lastExitCode: number | undefined;
  #backoffMs: number;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping = false;

  constructor(options: SupervisorOptions) {
    this.#options = { initialBackoffMs: 1000, maxBackoffMs: 60000, healthyAfterMs: 60000, ...options };
    this.#backoffMs = this.#options.initialBackoffMs;
  }

  /** Current facts. */
  status(): SupervisorStatus {
    return {
      running: this.#current !== undefined,
      pid: this.#current?.pid,
      starts: this.#starts,
      restarts: this.#restarts,
      lastExitCode: this.#lastExitCode,
    };
  }

  /** Starts an instance unless one runs or a restart is already pending. */
  ensure(): SupervisorStatus {
    if (!this.#stopping && this.#current === undefined && this.#restartTimer === undefined) this.#launch();
    return this.status();
  }

  #launch(): void {
    const { name, log } = this.#options;
    let instance: Supervisable;
    try {
      instance = this.#options.start();
    } catch (error) {
      log.error(`${name}: could not start: ${(error as Error).message}`);
      this.#scheduleRestart();
      return;
    }
    this.#current = instance;
    this.#startedAt = Date.now();
    this.#starts++;
    log.info(`${name}: started`, { pid: instance.pid, starts: this.#starts });
    instance.exited.then((code) => {
      if (this.#current !== instance) return;
      this.#current = undefined;
      this.#lastExitCode = code;
      if (this.#stopping) return;
      if (Date.now() - this.#startedAt >= this.#options.healthyAfterMs) {
        this.#backoffMs = this.#options.initialBackoffMs;
      }
      log.warn(`${name}: exited with code ${code}; restarting in ${this.#backoffMs} ms`, { pid: instance.pid });
      this.#scheduleRestart();
    });
  }

  #scheduleRestart(): void {
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#options.maxBackoffMs, this.#backoffMs * 2);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopping) return;
      this.#restarts++;
      this.#options.log.info(`${this.#options.name}: restarting (restart #${this.#restarts})`);
      this.#launch();
    }, delay);
  }

  /** Stops the instance (if any) and any pending restart; resolves when it has exited. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const instance = this.#current;
    if (!instance) return;
    this.#options.log.info(`${this.#options.name}: stopping`, { pid: instance.pid });
    const code = await instance.stop();
    this.#current = undefined;
    this.#lastExitCode = code;
    this.#options.log.info(`${this.#options.name}: stopped with code ${code}`, { pid: instance.pid });
  }
}
