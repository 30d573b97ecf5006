/**
 * Decouples the streaming producer's pacing from its sends: paced events are
 * pushed here, and one sender loop takes everything pending as one batch and
 * awaits its acknowledgement while the next events accumulate (the
 * "linger" of a Kafka producer, without a timer). A send that fails is
 * counted, never dropped silently.
 *
 * @module
 */

/** Options of {@link SendQueue}. */
export interface SendQueueOptions {
  /** Most items per send. @default 5000 */
  maxBatch?: number;
  /** {@link SendQueue.ready} waits while more than this many items are pending. @default 50000 */
  maxPending?: number;
  /** Called with each failed batch's size and error. */
  onError?: (error: unknown, count: number) => void;
  /**
   * After a send fails (the client already retried), count everything still
   * pending and pushed later as failed instead of retrying each batch for
   * minutes against a broker that is gone. @default false
   */
  failFast?: boolean;
}

/** A queue that sends its items in batches through one sender loop. */
export class SendQueue<T> {
  #send: (items: T[]) => Promise<void>;
  #maxBatch: number;
  #maxPending: number;
  #onError: (error: unknown, count: number) => void;
  #pending: T[] = [];
  #loop: Promise<void> | undefined;
  #sent = 0;
  #failed = 0;
  #waiters: (() => void)[] = [];
  #failFast: boolean;
  #broken = false;

  constructor(send: (items: T[]) => Promise<void>, options: SendQueueOptions = {}) {
    this.#send = send;
    this.#maxBatch = options.maxBatch ?? 5000;
    this.#maxPending = options.maxPending ?? 50000;
    this.#onError = options.onError ?? (() => {});
    this.#failFast = options.failFast ?? false;
  }

  /** Items acknowledged. */
  get sent(): number {
    return this.#sent;
  }

  /** Items whose send failed after the client's retries. */
  get failed(): number {
    return this.#failed;
  }

  /** Items waiting to be sent. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Adds items; the sender loop starts if idle. */
  push(items: readonly T[]): void {
    if (this.#broken) {
      this.#failed += items.length;
      return;
    }
    for (const item of items) this.#pending.push(item);
    this.#loop ??= this.#run();
  }

  /** Resolves once no more than `maxPending` items wait (backpressure for the producer of items). */
  async ready(): Promise<void> {
    while (this.#pending.length > this.#maxPending) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves when every pushed item is sent or counted as failed. */
  async drain(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.length <= this.#maxBatch
          ? this.#pending.splice(0)
          : this.#pending.splice(0, this.#maxBatch);
        this.#wake();
        try {
          await this.#send(batch);
          this.#sent += batch.length;
        } catch (error) {
          this.#failed += batch.length;
          this.#onError(error, batch.length);
          if (this.#failFast) {
            this.#broken = true;
            this.#failed += this.#pending.length;
            this.#pending.length = 0;
          }
        }
      }
    } finally {
      this.#loop = undefined;
      this.#wake();
    }
  }

  #wake(): void {
    if (this.#pending.length > this.#maxPending) return;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
