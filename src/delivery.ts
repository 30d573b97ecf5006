/**
 * The delivery guarantee settings shared by `consume` (which uses them) and
 * `health` (which shows the mode in force), and the `transactional.id`
 * scheme of exactly-once mode: one id per running member, built from the
 * consumer group and a stable instance id.
 *
 * Why one per member and not one per input partition: the member's producer
 * stays one connection whatever it is assigned, and a restarted member (same
 * group, same instance id) re-registers the same id, which fences its zombie
 * and aborts the transaction it left open before the new consumer joins the
 * group. The price: two members running at once must not share an instance id
 * (the second fences the first, which stops with exit 1).
 *
 * @module
 */
import type { OptionSpecs } from "./config.ts";

/** `--exactly-once` (`CHURNCTL_EXACTLY_ONCE`): the switch `health` reads as well. */
export const EXACTLY_ONCE_OPTION = {
  "exactly-once": {
    kind: "boolean",
    help: "write outputs and commit input offsets in Kafka transactions (readers must use read_committed)",
  },
  "instance-id": {
    kind: "string",
    help: "stable id of this member in its transactional.id; each member running at once needs its own " +
      "(default: the host name)",
  },
} as const satisfies OptionSpecs;

/** Settings of the transactions themselves (consume only). */
export const TRANSACTION_OPTIONS = {
  "transaction-max-batches": {
    kind: "int",
    default: 8,
    min: 1,
    max: 1000,
    help: "exactly-once: most batches written and committed in one transaction",
  },
  "transaction-interval-ms": {
    kind: "int",
    default: 0,
    min: 0,
    max: 60000,
    help: "exactly-once: how long a finished batch may wait for others to share its transaction " +
      "(0: as soon as the previous transaction ends)",
  },
  "transaction-retries": {
    kind: "int",
    default: 5,
    min: 0,
    max: 100,
    help: "exactly-once: aborted transactions retried (with backoff) before consume stops with exit 1",
  },
} as const satisfies OptionSpecs;

/** The delivery guarantee a consumer gives. */
export type Guarantee = "at-least-once" | "exactly-once";

/** The guarantee the `--exactly-once` switch selects. */
export function guaranteeOf(exactlyOnce: boolean): Guarantee {
  return exactlyOnce ? "exactly-once" : "at-least-once";
}

/** The host name, reduced to characters safe in a transactional id; `local` when there is none. */
export function defaultInstanceId(hostname: () => string = Deno.hostname): string {
  let name = "";
  try {
    name = hostname();
  } catch {
    // No --allow-sys, or no host name: one member per machine still gets a stable id.
  }
  return sanitize(name) || "local";
}

/** `churnctl-<group>-<instance id>`: stable across restarts of the same member. */
export function transactionalIdFor(group: string, instanceId: string | undefined): string {
  return `churnctl-${group}-${sanitize(instanceId ?? "") || defaultInstanceId()}`;
}

function sanitize(text: string): string {
  return text.trim().replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
}
