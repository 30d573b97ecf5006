/**
 * kafkajs schedules a timer with a negative delay on every connect, which
 * Node's compatibility layer reports as a `TimeoutNegativeWarning`. It is
 * harmless and would print on every command, so that one warning is dropped.
 *
 * @module
 */
import process from "node:process";

const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const name = typeof warning === "string" ? (typeof rest[0] === "string" ? rest[0] : "") : warning.name;
  if (name === "TimeoutNegativeWarning") return;
  // deno-lint-ignore no-explicit-any
  (emitWarning as any)(warning, ...rest);
}) as typeof process.emitWarning;
