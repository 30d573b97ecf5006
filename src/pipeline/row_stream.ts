/**
 * Endless row streams for the streaming producer: the file read again and
 * again, in order or shuffled through a bounded buffer, so random order
 * never needs the whole file in memory (files up to the buffer's size are
 * shuffled fully).
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { type CsvRow, readCsvRows } from "./csv_source.ts";

/** Options of {@link endlessRows}. */
export interface EndlessRowsOptions {
  /** `sequential` (file order) or `random`. @default "random" */
  order?: "random" | "sequential";
  /** Random numbers in [0, 1) (seeded for repeatable runs). @default Math.random */
  random?: () => number;
  /** Rows held for shuffling. @default 10000 */
  shuffleBuffer?: number;
}

/** Yields the file's rows forever (pass after pass); throws {@link ConfigError} when it has no data rows. */
export async function* endlessRows(path: string, options: EndlessRowsOptions = {}): AsyncGenerator<CsvRow> {
  const passes = async function* (): AsyncGenerator<CsvRow> {
    for (;;) {
      let rows = 0;
      for await (const row of readCsvRows(path)) {
        rows++;
        yield row;
      }
      if (rows === 0) throw new ConfigError(`${path}: no data rows to send`);
    }
  };
  if ((options.order ?? "random") === "sequential") {
    yield* passes();
    return;
  }
  const random = options.random ?? Math.random;
  const capacity = Math.max(1, options.shuffleBuffer ?? 10000);
  const buffer: CsvRow[] = [];
  let full = false;
  for await (const row of passes()) {
    if (!full) {
      // Fill until the buffer is full or the whole file is in (row 1 comes round again).
      if (buffer.length > 0 && row.rowNumber === 1) {
        full = true;
      } else {
        buffer.push(row);
        full = buffer.length >= capacity;
        continue;
      }
    }
    const index = Math.floor(random() * buffer.length);
    const picked = buffer[index];
    buffer[index] = row;
    yield picked;
  }
}
