/**
 * Graceful shutdown: the first SIGTERM or SIGINT asks the loop to stop
 * (finish the batch in hand, commit, close); {@link drainWithin} bounds how
 * long that may take, and a second signal cuts the wait short, as an operator
 * pressing Ctrl+C twice expects.
 *
 * @module
 */

/** What {@link drainWithin} saw. */
export type DrainResult<T> =
  | { finished: true; value: T; waitedMs: number }
  | { finished: false; waitedMs: number; why: "timeout" | "forced" };

/**
 * Turns process signals into an `AbortSignal` the consumer loop watches.
 *
 * @example
 * ```ts
 * const shutdown = new ShutdownSignal();
 * while (!shutdown.requested) await doBatch(shutdown.signal);
 * shutdown.dispose();
 * ```
 */
export class ShutdownSignal {
  #controller = new AbortController();
  #forced = Promise.withResolvers<void>();
  #listeners: [Deno.Signal, () => void][] = [];
  #count = 0;
  #onSignal: ((signal: Deno.Signal, count: number) => void) | undefined;

  /** Listens for `signals`; `onSignal` is told of each (to log it). */
  constructor(
    signals: readonly Deno.Signal[] = ["SIGTERM", "SIGINT"],
    onSignal?: (signal: Deno.Signal, count: number) => void,
  ) {
    this.#onSignal = onSignal;
    for (const name of signals) {
      const listener = () => this.trigger(name);
      try {
        Deno.addSignalListener(name, listener);
        this.#listeners.push([name, listener]);
      } catch {
        // Not every platform has every signal (Windows has no SIGTERM); the others still work.
      }
    }
  }

  /** Aborted at the first signal (or {@link trigger}); its `reason` is the signal name. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** True once shutdown was asked for. */
  get requested(): boolean {
    return this.#controller.signal.aborted;
  }

  /** The signal (or reason) that asked for shutdown, if any. */
  get reason(): string | undefined {
    return this.requested ? String(this.#controller.signal.reason) : undefined;
  }

  /** Resolves at the second request: stop waiting for the drain. */
  get forced(): Promise<void> {
    return this.#forced.promise;
  }

  /** Asks for shutdown as a signal would (a fatal error, a test). */
  trigger(reason: string): void {
    this.#count++;
    this.#onSignal?.(reason as Deno.Signal, this.#count);
    if (this.#count === 1) this.#controller.abort(reason);
    else this.#forced.resolve();
  }

  /** Removes the signal listeners (the default handlers come back). */
  dispose(): void {
    for (const [name, listener] of this.#listeners) Deno.removeSignalListener(name, listener);
    this.#listeners = [];
  }
}

/**
 * Waits for `work` at most `timeoutMs`, or until `forced` resolves. The work
 * is not cancelled — the caller decides what to abandon and says so.
 */
export async function drainWithin<T>(
  work: Promise<T>,
  timeoutMs: number,
  forced?: Promise<void>,
): Promise<DrainResult<T>> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = () => Math.round(performance.now() - started);
  const outcomes: Promise<DrainResult<T>>[] = [
    work.then((value) => ({ finished: true, value, waitedMs: waited() })),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve({ finished: false, waitedMs: waited(), why: "timeout" }), timeoutMs);
    }),
  ];
  if (forced) outcomes.push(forced.then(() => ({ finished: false, waitedMs: waited(), why: "forced" })));
  try {
    return await Promise.race(outcomes);
  } finally {
    clearTimeout(timer);
  }
}
