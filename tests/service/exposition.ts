/**
 * Reads Prometheus text exposition with `parse-prometheus-text-format` (an
 * independent parser, so a test checks what Prometheus would see rather than
 * prom-client checking itself), and looks values up by name and labels.
 *
 * @module
 */
import parsePrometheusText from "parse-prometheus-text-format";

/** One sample of a counter, gauge or untyped family; or one histogram series. */
export interface Sample {
  /** Label set. */
  labels?: Record<string, string>;
  /** Value of a counter, gauge or untyped sample. */
  value?: string;
  /** Histogram: cumulative count per upper bound (`le`). */
  buckets?: Record<string, string>;
  /** Histogram or summary: number of observations. */
  count?: string;
  /** Histogram or summary: sum of observations. */
  sum?: string;
}

/** One metric family as the parser returns it. */
export interface Family {
  /** Metric name. */
  name: string;
  /** HELP text. */
  help: string;
  /** COUNTER, GAUGE, HISTOGRAM, SUMMARY or UNTYPED. */
  type: string;
  /** Its samples. */
  metrics: Sample[];
}

/** Parses exposition text into metric families keyed by name. */
export function parseExposition(text: string): Map<string, Family> {
  const families = (parsePrometheusText as (text: string) => Family[])(text);
  return new Map(families.map((family) => [family.name, family]));
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value);
}

/** The value of the sample of `name` whose labels include `labels`; undefined when absent. */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const sample = families.get(name)?.metrics.find((item) => matches(item, labels));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

/** A histogram's count, sum and cumulative buckets. */
export function histogramOf(
  families: Map<string, Family>,
  name: string,
): { count: number; sum: number; buckets: Map<number, number> } | undefined {
  const family = families.get(name);
  const sample = family?.metrics[0];
  if (!family || family.type !== "HISTOGRAM" || !sample?.buckets) return undefined;
  const buckets = new Map(
    Object.entries(sample.buckets).map(([le, count]) => [le === "+Inf" ? Infinity : Number(le), Number(count)]),
  );
  return { count: Number(sample.count), sum: Number(sample.sum), buckets };
}
