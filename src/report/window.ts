/**
 * The time window of `churnctl summary`: `--since` and `--until` as an
 * ISO-8601 time (`2025-10-11T03:00:00Z`, `2025-10-11`) or as a span back from
 * now (`90s`, `30m`, `1h`, `2d`, `1w`).
 *
 * @module
 */
import { UsageError } from "../errors.ts";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a point in time; `flag` names the option in the error.
 *
 * @example
 * ```ts
 * parseWhen("30m", "--since", Date.parse("2025-01-01T01:00:00Z")); // Date.parse("2025-01-01T00:30:00Z")
 * ```
 */
export function parseWhen(text: string, flag: string, nowMs: number): number {
  const trimmed = text.trim();
  if (trimmed === "now") return nowMs;
  const relative = trimmed.match(/^(\d+(?:\.\d+)?)\s*([smhdw])$/);
  if (relative) return nowMs - Number(relative[1]) * UNIT_MS[relative[2]];
  // Only ISO-looking text: Date.parse also takes "1" or "March 7", which would be a surprise here.
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)) {
    const ms = Date.parse(trimmed.replace(" ", "T"));
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(
    `${flag}: expected an ISO time (2025-10-11T03:00:00Z) or a span back from now (90s, 30m, 1h, 2d, 1w), got '${text}'`,
  );
}
