/**
 * Logging to stderr, as text or one JSON object per line. Results go to
 * stdout; everything here goes to stderr so `--json` output stays parseable.
 * Registered secrets are masked in every line, whatever the caller passes.
 *
 * @module
 */

/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** Log line encodings. */
export type LogFormat = "text" | "json";

const LEVEL_RANK: Record<LogLevel, number> = {
  debug: 10,
  info: 20,
  warn: 30,
  error: 40,
};
const encoder = new TextEncoder();
const secrets = new Set<string>();

/** Registers a secret value (a password) so no log line ever shows it. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) secrets.add(value);
}

/** Replaces every registered secret in `text` with `***`. */
export function maskSecrets(text: string): string {
  let masked = text;
  for (const secret of secrets) masked = masked.replaceAll(secret, "***");
  return masked;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Encoding of each line. @default "text" */
  format?: LogFormat;
  /** The part of churnctl speaking (producer, consumer, scheduler…). */
  component?: string;
  /** Where lines go. @default stderr */
  write?: (line: string) => void;
}

/** A structured logger: a message plus flat fields. */
export interface Logger {
  /** Writes a debug line. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Writes an info line. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Writes a warning. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Writes an error line. */
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger with the same settings for another component. */
  child(component: string): Logger;
  /** Whether lines at `level` are written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
}

/** Creates a logger; see {@link LoggerOptions}. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const minimum = LEVEL_RANK[options.level ?? "info"];
  const format = options.format ?? "text";
  const component = options.component ?? "churnctl";
  const write = options.write ??
    ((line: string) => Deno.stderr.writeSync(encoder.encode(line + "\n")));
  const emit = (
    level: LogLevel,
    message: string,
    fields?: Record<string, unknown>,
  ) => {
    if (LEVEL_RANK[level] < minimum) return;
    const time = new Date().toISOString();
    let line: string;
    if (format === "json") {
      line = JSON.stringify({
        time,
        level,
        component,
        msg: message,
        ...fields,
      });
    } else {
      const extra = fields
        ? Object.entries(fields).map(([key, value]) =>
          ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`
        ).join("")
        : "";
      line = `${time} ${level.toUpperCase().padEnd(5)} [${component}] ${message}${extra}`;
    }
    write(maskSecrets(line));
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
    child: (name) => createLogger({ ...options, component: name }),
    enabled: (level) => LEVEL_RANK[level] >= minimum,
  };
}
