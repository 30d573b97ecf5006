import assert from "node:assert/strict";
import { parseOptions } from "../src/config.ts";
import {
  defaultInstanceId,
  EXACTLY_ONCE_OPTION,
  guaranteeOf,
  TRANSACTION_OPTIONS,
  transactionalIdFor,
} from "../src/delivery.ts";

Deno.test("delivery", async (t) => {
  await t.step("delivery transactionalIdFor is stable and built from the group and the instance id", () => {
    assert.equal(transactionalIdFor("churn-prediction-group", "scorer-1"), "churnctl-churn-prediction-group-scorer-1");
    assert.equal(transactionalIdFor("g", "scorer-1"), transactionalIdFor("g", "scorer-1"));
    assert.notEqual(transactionalIdFor("g", "a"), transactionalIdFor("g", "b"));
    assert.equal(transactionalIdFor("g", " pod/7 "), "churnctl-g-pod-7");
  });
  await t.step("delivery defaultInstanceId uses the host name, or 'local' without one", () => {
    assert.equal(defaultInstanceId(() => "scorer.example.com"), "scorer.example.com");
    assert.equal(defaultInstanceId(() => ""), "local");
    assert.equal(
      defaultInstanceId(() => {
        throw new Error("no --allow-sys");
      }),
      "local",
    );
    assert.equal(transactionalIdFor("g", undefined), `churnctl-g-${defaultInstanceId()}`);
  });
  await t.step("delivery options read CHURNCTL_EXACTLY_ONCE and the transaction settings", () => {
    const specs = { ...EXACTLY_ONCE_OPTION, ...TRANSACTION_OPTIONS };
    const off = parseOptions([], specs, {}, "consume").values;
    assert.equal(guaranteeOf(off["exactly-once"]), "at-least-once");
    assert.equal(off["transaction-max-batches"], 8);
    assert.equal(off["transaction-interval-ms"], 0);
    const on = parseOptions(["--transaction-interval-ms", "50"], specs, {
      CHURNCTL_EXACTLY_ONCE: "1",
      CHURNCTL_INSTANCE_ID: "b",
    }, "consume").values;
    assert.equal(guaranteeOf(on["exactly-once"]), "exactly-once");
    assert.equal(on["instance-id"], "b");
    assert.equal(on["transaction-interval-ms"], 50);
  });
});
