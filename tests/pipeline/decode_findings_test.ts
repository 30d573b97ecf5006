/**
 * Regression tests of the bugs the bad-input fuzz found (issue 9), one step each.
 *
 * @module
 */
import assert from "node:assert/strict";
import { countTopLevelMembers, EventDecoder } from "../../src/pipeline/decode.ts";
import { validateCustomerEvent } from "../../src/schema/customer.ts";
import { validEvents } from "./fixtures.ts";

const encoder = new TextEncoder();

Deno.test("decode findings", async (t) => {
  const decoder = new EventDecoder();
  const [event] = validEvents(1);

  // Finding 1: JSON.parse keeps the last of duplicated keys, so `{"tenure":"?", …, "tenure":5}` was predicted.
  await t.step("decode refuses a duplicated field whose last value is valid as duplicate_key", () => {
    const decoded = decoder.decode(encoder.encode(`{"tenure":"?",` + event.value.slice(1)));
    assert.equal(decoded.ok, false);
    assert.equal(!decoded.ok && decoded.reason, "duplicate_key");
    assert.equal(!decoded.ok && decoded.eventId, event.eventId);
  });

  await t.step("decode refuses a field repeated with the same value as duplicate_key", () => {
    const { customerID } = JSON.parse(event.value);
    const decoded = decoder.decode(
      encoder.encode(`{"customerID":${JSON.stringify(customerID)},` + event.value.slice(1)),
    );
    assert.equal(!decoded.ok && decoded.reason, "duplicate_key");
  });

  await t.step("decode still accepts an event whose strings hold commas, braces and escaped quotes", () => {
    const tricky = { ...JSON.parse(event.value), customerID: 'a,b{"c":[1,2]}\\",' };
    const decoded = decoder.decode(encoder.encode(JSON.stringify(tricky)));
    assert.equal(decoded.ok, true, !decoded.ok ? decoded.message : "");
  });

  await t.step("countTopLevelMembers counts members, not nested or quoted commas", () => {
    assert.equal(countTopLevelMembers("{}"), 0);
    assert.equal(countTopLevelMembers('{"a":1}'), 1);
    assert.equal(countTopLevelMembers('{"a":[1,2,{"x":1,"y":2}],"b":"c,d","c":"\\",","d":null}'), 4);
    assert.equal(countTopLevelMembers(' { "a" : 1 , "a" : 2 } '), 2);
  });

  // Finding 2: the schema's pattern admitted impossible times (month 13, Feb 30, 24:61), copied into predictions.
  for (const ts of ["2024-13-01T00:00:00Z", "2024-02-30T10:00:00Z", "2024-01-01T24:61:00Z", "0000-99-99T99:99:99Z"]) {
    await t.step(`validateCustomerEvent refuses the impossible event_ts ${ts} as bad_format`, () => {
      const result = validateCustomerEvent({ ...JSON.parse(event.value), event_ts: ts });
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.reason, "bad_format");
      assert.equal(!result.ok && result.field, "event_ts");
    });
  }

  for (const ts of ["2024-02-29T23:59:59Z", "2024-12-31T00:00:00.123456789Z", "2000-01-01T00:00:00.000Z"]) {
    await t.step(`validateCustomerEvent accepts the real event_ts ${ts}`, () => {
      assert.equal(validateCustomerEvent({ ...JSON.parse(event.value), event_ts: ts }).ok, true);
    });
  }
});
