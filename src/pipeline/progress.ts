/**
 * Progress of a long run on stderr: a redrawn bar on a terminal, a plain
 * line every few seconds otherwise (so logs and CI output stay readable).
 *
 * @module
 */

/** A snapshot of progress. */
export interface ProgressState {
  /** Events acknowledged so far. */
  sent: number;
  /** Fraction done in [0, 1], when known. */
  fraction?: number;
  /** Free text after the figures (e.g. "row 2,300"). */
  note?: string;
}

/** Options of {@link ProgressReporter}. */
export interface ProgressOptions {
  /** Draw a bar (stderr is a terminal) or write lines. */
  terminal: boolean;
  /** Writes raw text (the bar) to stderr. */
  write: (text: string) => void;
  /** Writes one log line (non-terminal mode). */
  line: (text: string) => void;
  /** Seconds between lines in non-terminal mode. @default 5 */
  everySec?: number;
  /** Clock in ms. @default performance.now */
  now?: () => number;
}

/** Reports progress as a bar or periodic lines; see the module doc. */
export class ProgressReporter {
  #options: ProgressOptions;
  #now: () => number;
  #start: number;
  #last = -Infinity;
  #drawn = false;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Reports `state` if enough time passed since the last report (bars redraw at most 10 times a second). */
  update(state: ProgressState): void {
    const now = this.#now();
    const interval = this.#options.terminal ? 100 : (this.#options.everySec ?? 5) * 1000;
    if (now - this.#last < interval) return;
    this.#last = now;
    this.#render(state, now);
  }

  /** Draws the final state and ends the bar's line. */
  finish(state: ProgressState): void {
    if (!this.#options.terminal && !this.#drawn) return;
    this.#render(state, this.#now());
    if (this.#options.terminal) this.#options.write("\n");
  }

  #render(state: ProgressState, now: number): void {
    const seconds = Math.max((now - this.#start) / 1000, 1e-3);
    const rate = Math.round(state.sent / seconds).toLocaleString("en-US");
    const figures = `${state.sent.toLocaleString("en-US")} sent, ${rate}/s${state.note ? `, ${state.note}` : ""}`;
    this.#drawn = true;
    if (!this.#options.terminal) {
      const percent = state.fraction === undefined ? "" : `${(state.fraction * 100).toFixed(0)}% `;
      this.#options.line(`progress ${percent}${figures}`);
      return;
    }
    const width = 30;
    const fraction = Math.min(1, Math.max(0, state.fraction ?? 0));
    const filled = Math.round(fraction * width);
    const bar = state.fraction === undefined
      ? ""
      : `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
    this.#options.write(`\r\x1b[2K${bar}${figures}`);
  }
}
