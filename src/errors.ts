/**
 * Typed errors. Each carries the one line a user sees and the exit code the
 * CLI edge (`main.ts`) turns it into; nothing else prints stack traces for
 * user mistakes.
 *
 * @module
 */

/** Exit code for success. */
export const EXIT_OK = 0;
/** Exit code for a runtime failure (broker unreachable, unhealthy, send failed). */
export const EXIT_FAILURE = 1;
/** Exit code for a user mistake on the command line (unknown flag, bad value). */
export const EXIT_USAGE = 2;

/** Base class: an error whose message is fit to show a user as one line. */
export class ChurnctlError extends Error {
  /** Process exit code this error maps to. */
  readonly exitCode: number;
  constructor(
    message: string,
    exitCode = EXIT_FAILURE,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ChurnctlError";
    this.exitCode = exitCode;
  }
}

/** A mistake in how the command was called: unknown command, flag or bad value (exit 2). */
export class UsageError extends ChurnctlError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

/** A setting that is present but unusable (missing file, bad CA path, …) (exit 1). */
export class ConfigError extends ChurnctlError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_FAILURE, options);
    this.name = "ConfigError";
  }
}

/** The broker could not be reached, refused us, or failed a request (exit 1). */
export class BrokerError extends ChurnctlError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_FAILURE, options);
    this.name = "BrokerError";
  }
}

/** The model could not be loaded or does not match its card (exit 1). */
export class ModelError extends ChurnctlError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, EXIT_FAILURE, options);
    this.name = "ModelError";
  }
}

/** Turns any thrown value into a single line (no stack, no newlines). */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim() || "unknown error";
}
