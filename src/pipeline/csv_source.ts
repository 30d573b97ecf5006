/**
 * Reads the customer CSV as a stream (csv-parse), one row at a time with its
 * row number, so a file of any size is never held in memory whole.
 *
 * Rows come out as raw strings keyed by the header; normalization and
 * validation are a later stage (`events.ts`), so an invalid row can still be
 * reported with its number, or sent as it is.
 *
 * @module
 */
import { parse } from "csv-parse/stream";
import { CSV_COLUMNS } from "../schema/customer.ts";
import { ConfigError } from "../errors.ts";

/** One data row of the CSV. */
export interface CsvRow {
  /** 1-based number of the data row (the header is not counted). */
  rowNumber: number;
  /** 1-based line of the file where the row ends (for messages a user can find). */
  line: number;
  /** Cells keyed by the header's column names (a short row lacks the last ones). */
  cells: Record<string, string>;
  /** Cells beyond the header's width (a malformed row), else empty. */
  extra: string[];
  /** Bytes of the file consumed so far (for progress). */
  bytesRead: number;
}

/** Options of {@link readCsvRows}. */
export interface CsvReadOptions {
  /** First data row to yield; earlier rows are parsed and skipped (resume). @default 1 */
  fromRow?: number;
}

/** The columns a customer file must have in its header (`Churn`, the label, is optional). */
export const REQUIRED_COLUMNS: readonly string[] = CSV_COLUMNS.filter((column) => column !== "Churn");

/** Throws a {@link ConfigError} naming the first required column the header lacks. */
export function checkHeader(header: readonly string[], path: string): void {
  const present = new Set(header.map((name) => name.trim()));
  const missing = REQUIRED_COLUMNS.filter((column) => !present.has(column));
  if (missing.length > 0) {
    throw new ConfigError(
      `${path}: not the telco churn data set's header: missing column${missing.length > 1 ? "s" : ""} ${
        missing.slice(0, 4).join(", ")
      }${missing.length > 4 ? ", …" : ""}`,
    );
  }
}

/**
 * Yields the data rows of a CSV file in order, streamed through csv-parse.
 * Throws {@link ConfigError} when the file cannot be read, its header is not
 * the data set's, or it is not parseable CSV (with the line number).
 *
 * @example
 * ```ts
 * for await (const row of readCsvRows("data/telco-customer-churn.csv")) console.log(row.rowNumber, row.cells.customerID);
 * ```
 */
export async function* readCsvRows(path: string, options: CsvReadOptions = {}): AsyncGenerator<CsvRow> {
  const fromRow = options.fromRow ?? 1;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "no such file" : (error as Error).message;
    throw new ConfigError(`cannot read ${path}: ${reason}`);
  }
  const parser = parse({
    bom: true,
    info: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
  });
  const records = file.readable.pipeThrough(parser as unknown as TransformStream<Uint8Array, ParsedRecord>);
  let header: string[] | undefined;
  let rowNumber = 0;
  const reader = records.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<ParsedRecord>;
      try {
        next = await reader.read();
      } catch (error) {
        throw new ConfigError(`${path}: not readable as CSV: ${(error as Error).message.split("\n")[0]}`);
      }
      if (next.done) break;
      const { record, info } = next.value;
      if (header === undefined) {
        header = record.map((name) => name.trim());
        checkHeader(header, path);
        continue;
      }
      rowNumber++;
      if (rowNumber < fromRow) continue;
      const cells: Record<string, string> = {};
      const width = Math.min(header.length, record.length);
      for (let index = 0; index < width; index++) cells[header[index]] = record[index];
      yield {
        rowNumber,
        line: info.lines,
        cells,
        extra: record.length > header.length ? record.slice(header.length) : [],
        bytesRead: info.bytes,
      };
    }
    if (header === undefined) throw new ConfigError(`${path}: the file is empty (no header row)`);
  } finally {
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

interface ParsedRecord {
  record: string[];
  info: { lines: number; bytes: number };
}
