/**
 * The options of a long-running command (`consume --mode streaming`,
 * `schedule --supervise`): the metrics endpoint and the shutdown budget.
 * Defined once here and spread into each command's option set.
 *
 * @module
 */
import type { OptionSpecs } from "../config.ts";

/** `--metrics-addr` (off by default), `--lag-interval-ms` and `--shutdown-timeout`. */
export const SERVICE_OPTIONS = {
  "metrics-addr": {
    kind: "string",
    help: "serve /metrics, /healthz and /ready on host:port, e.g. 127.0.0.1:9464 (off when unset)",
  },
  "lag-interval-ms": {
    kind: "int",
    default: 5000,
    min: 100,
    max: 600000,
    help: "how often the group's committed lag is read (metrics, /ready, progress lines)",
  },
  "shutdown-timeout": {
    kind: "number",
    default: 20,
    min: 0.1,
    max: 3600,
    help: "seconds SIGTERM/SIGINT waits for the batch in hand to be written and committed; then exit 1",
  },
} as const satisfies OptionSpecs;
