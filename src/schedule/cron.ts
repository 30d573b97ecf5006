/**
 * Cron expressions as `Deno.cron` takes them, checked before anything is
 * registered: five fields (minute hour day-of-month month day-of-week, UTC),
 * with `*`, `a`, `a-b`, `/step`, lists and month/day names.
 *
 * Why a parser of our own next to Deno's: Deno's error is only "Invalid cron
 * schedule" (no field, no reason), and Deno 2.9 *panics* — the whole process,
 * not an exception — on a valid-looking schedule that never fires
 * (`0 0 30 2 *`). So the expression is parsed here, refused with the reason,
 * and then confirmed by Deno itself with a registration whose signal is
 * already aborted (see {@link validateCron}).
 *
 * Day of week follows Deno.cron (Quartz numbering): 1 = Sunday … 7 = Saturday,
 * or SUN-SAT; `0` is refused by Deno, so it is refused here with that hint.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** A parsed expression: the allowed values of each field. */
export interface CronSpec {
  /** The expression as given. */
  source: string;
  /** Minutes 0-59. */
  minutes: Set<number>;
  /** Hours 0-23. */
  hours: Set<number>;
  /** Days of month 1-31. */
  days: Set<number>;
  /** Months 1-12. */
  months: Set<number>;
  /** Days of week 1-7, 1 = Sunday (Deno's numbering). */
  weekdays: Set<number>;
  /** Whether day-of-month was `*` (cron's rule: with both day fields restricted, either matches). */
  anyDay: boolean;
  /** Whether day-of-week was `*`. */
  anyWeekday: boolean;
}

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIELDS: readonly FieldRule[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES },
  { name: "day of week", min: 1, max: 7, names: DAY_NAMES },
];

function parseValue(text: string, rule: FieldRule, expression: string): number {
  const byName = rule.names?.indexOf(text.toUpperCase()) ?? -1;
  if (byName >= 0) return byName + 1;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(
      `cron '${expression}': ${rule.name} '${text}' is not a number${
        rule.names ? ` or a name (${rule.names[0]}-${rule.names[rule.names.length - 1]})` : ""
      }`,
    );
  }
  const value = Number(text);
  if (rule.name === "day of week" && value === 0) {
    throw new UsageError(
      `cron '${expression}': day of week 0 is not accepted by Deno.cron; use SUN (numbers are 1 = SUN … 7 = SAT)`,
    );
  }
  if (value < rule.min || value > rule.max) {
    throw new UsageError(`cron '${expression}': ${rule.name} ${value} is out of range ${rule.min}-${rule.max}`);
  }
  return value;
}

function parseField(text: string, rule: FieldRule, expression: string): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const match = part.match(/^([^/]+)(?:\/(\d+))?$/);
    if (!match) throw new UsageError(`cron '${expression}': ${rule.name} '${part}' is not valid`);
    const [, range, stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new UsageError(`cron '${expression}': ${rule.name} step must be at least 1`);
    let low: number, high: number;
    if (range === "*") [low, high] = [rule.min, rule.max];
    else if (range.includes("-")) {
      const [from, to, extra] = range.split("-");
      if (extra !== undefined) throw new UsageError(`cron '${expression}': ${rule.name} '${range}' is not valid`);
      [low, high] = [parseValue(from, rule, expression), parseValue(to, rule, expression)];
      if (low > high) {
        throw new UsageError(`cron '${expression}': ${rule.name} range ${range} runs backwards`);
      }
    } else {
      low = parseValue(range, rule, expression);
      // `5/10` means "from 5, every 10", as in Deno and Quartz.
      high = stepText === undefined ? low : rule.max;
    }
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

/** Parses an expression; throws {@link UsageError} naming the field and the reason. */
export function parseCron(expression: string): CronSpec {
  const fields = expression.trim().split(/\s+/);
  if (expression.trim() === "" || fields.length !== 5) {
    throw new UsageError(
      `cron '${expression}': expected 5 fields (minute hour day-of-month month day-of-week, UTC), got ${
        expression.trim() === "" ? 0 : fields.length
      }`,
    );
  }
  const [minutes, hours, days, months, weekdays] = fields.map((field, index) =>
    parseField(field, FIELDS[index], expression)
  );
  const spec: CronSpec = {
    source: expression,
    minutes,
    hours,
    days,
    months,
    weekdays,
    anyDay: fields[2] === "*",
    anyWeekday: fields[4] === "*",
  };
  if (nextRun(spec, Date.UTC(2000, 0, 1)) === undefined) {
    throw new UsageError(`cron '${expression}': never fires (no such day in the months given)`);
  }
  return spec;
}

function dayMatches(spec: CronSpec, date: Date): boolean {
  const dayOk = spec.days.has(date.getUTCDate());
  const weekdayOk = spec.weekdays.has(date.getUTCDay() + 1);
  if (spec.anyDay && spec.anyWeekday) return true;
  if (spec.anyDay) return weekdayOk;
  if (spec.anyWeekday) return dayOk;
  return dayOk || weekdayOk;
}

/** The first time strictly after `afterMs` (UTC) the expression fires, or undefined within 8 years (never). */
export function nextRun(spec: CronSpec, afterMs: number): number | undefined {
  const start = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  const limit = afterMs + 8 * 366 * 86_400_000;
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (; day.getTime() <= limit; day.setUTCDate(day.getUTCDate() + 1)) {
    if (!spec.months.has(day.getUTCMonth() + 1) || !dayMatches(spec, day)) continue;
    for (const hour of [...spec.hours].sort((a, b) => a - b)) {
      for (const minute of [...spec.minutes].sort((a, b) => a - b)) {
        const at = day.getTime() + hour * 3_600_000 + minute * 60_000;
        if (at >= start.getTime()) return at;
      }
    }
  }
  return undefined;
}

/**
 * Validates `expression` for a `Deno.cron` job called `label`: our parser
 * first (a precise reason), then Deno's own, by registering it with an
 * already-aborted signal so nothing is left scheduled.
 */
export function validateCron(expression: string, label: string): CronSpec {
  let spec: CronSpec;
  try {
    spec = parseCron(expression);
  } catch (error) {
    throw new UsageError(`${label}: ${(error as Error).message}`);
  }
  if (typeof Deno.cron !== "function") {
    throw new UsageError(`${label}: Deno.cron is not available: run with --unstable-cron`);
  }
  const aborted = new AbortController();
  aborted.abort();
  try {
    // The returned promise never settles for an aborted registration: it is left alone on purpose.
    void Deno.cron(`churnctl-validate-${crypto.randomUUID()}`, expression, { signal: aborted.signal }, () => {});
  } catch (error) {
    throw new UsageError(`${label}: cron '${expression}': Deno.cron refuses it (${(error as Error).message})`);
  }
  return spec;
}
