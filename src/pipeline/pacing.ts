/**
 * Steady pacing for the streaming producer. Event i is due at
 * `start + i / rate`; each call returns how many events are due now, so at
 * high rates small groups go out per timer tick (timers cannot fire 5,000
 * times a second) while the schedule, not the timer, keeps the average rate
 * exact. The clock is injectable so tests run on fake time.
 *
 * @module
 */

/** A source of time and sleep, in milliseconds. */
export interface Clock {
  /** Monotonic time in ms. */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** Options of {@link Pacer}. */
export interface PacerOptions {
  /** Time source. @default systemClock */
  clock?: Clock;
  /** Most events returned by one {@link Pacer.next} call. @default max(1, rate / 20) */
  maxGroup?: number;
  /**
   * When the caller falls this far behind the schedule (a slow broker), the
   * debt is forgiven instead of being paid back as a burst. @default 1000
   */
  maxLagMs?: number;
}

/** Hands out events at a steady rate; see the module doc. */
export class Pacer {
  #intervalMs: number;
  #clock: Clock;
  #maxGroup: number;
  #maxLagMs: number;
  #start: number | undefined;
  #issued = 0;
  #forgiven = 0;

  /** A pacer of `ratePerSec` events per second (> 0). */
  constructor(ratePerSec: number, options: PacerOptions = {}) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new RangeError("rate must be a positive number");
    this.#intervalMs = 1000 / ratePerSec;
    this.#clock = options.clock ?? systemClock;
    this.#maxGroup = Math.max(1, Math.floor(options.maxGroup ?? ratePerSec / 20));
    this.#maxLagMs = options.maxLagMs ?? 1000;
  }

  /** Events handed out so far. */
  get issued(): number {
    return this.#issued;
  }

  /** Events skipped because the caller fell more than `maxLagMs` behind. */
  get forgiven(): number {
    return this.#forgiven;
  }

  /** When the first event was due (clock ms), once started. */
  get startedAt(): number | undefined {
    return this.#start;
  }

  /** Waits until the next event would be due (so a run of N events spans N intervals). */
  async waitNextSlot(signal?: AbortSignal): Promise<void> {
    if (this.#start === undefined) return;
    const wait = this.#start + this.#issued * this.#intervalMs - this.#clock.now();
    if (wait > 0) await this.#clock.sleep(wait, signal);
  }

  /**
   * Waits until at least one event is due and returns how many are due
   * (1 … maxGroup); the first is due at once. Returns 0 only when `signal`
   * aborts while waiting, or when `until` (clock ms) comes first.
   */
  async next(signal?: AbortSignal, until = Infinity): Promise<number> {
    for (;;) {
      if (signal?.aborted) return 0;
      const now = this.#clock.now();
      if (this.#start === undefined) this.#start = now;
      // At the end, still hand out the events due before `until` that a late timer skipped past.
      const dueTotal = now >= until
        ? Math.ceil((until - this.#start) / this.#intervalMs)
        : Math.floor((now - this.#start) / this.#intervalMs) + 1;
      if (now >= until && dueTotal <= this.#issued) return 0;
      let due = dueTotal - this.#issued;
      if (due > 0) {
        const lagMs = (due - 1) * this.#intervalMs;
        if (lagMs > this.#maxLagMs) {
          // Move the schedule so only the events of the last `maxLagMs` are due now.
          const keep = Math.max(1, Math.floor(this.#maxLagMs / this.#intervalMs));
          this.#forgiven += due - keep;
          this.#start += (due - keep) * this.#intervalMs;
          due = keep;
        }
        const count = Math.min(due, this.#maxGroup);
        this.#issued += count;
        return count;
      }
      const nextDue = this.#start + this.#issued * this.#intervalMs;
      await this.#clock.sleep(Math.min(nextDue, until) - now, signal);
    }
  }
}
