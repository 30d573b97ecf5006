import assert from "node:assert/strict";
import { EventDecoder, scanEventId } from "../../src/pipeline/decode.ts";
import { malformedCases, validEvents } from "./fixtures.ts";

const encoder = new TextEncoder();

Deno.test("decode", async (t) => {
  const decoder = new EventDecoder();
  const [event] = validEvents(1);

  await t.step("decode accepts a valid event and returns it typed", () => {
    const decoded = decoder.decode(encoder.encode(event.value));
    assert.equal(decoded.ok, true);
    assert.equal(decoded.ok && decoded.event.event_id, event.eventId);
  });

  for (const bad of malformedCases(event)) {
    await t.step(`decode gives ${bad.reason} for its malformed message`, () => {
      const decoded = decoder.decode(bad.value);
      assert.equal(decoded.ok, false);
      if (decoded.ok) return;
      assert.equal(decoded.reason, bad.reason);
      assert.ok(decoded.message.length > 0);
      assert.equal(decoded.eventId, bad.eventId);
    });
  }

  await t.step("decode honours a smaller size limit", () => {
    const small = new EventDecoder({ maxEventBytes: 100 });
    const decoded = small.decode(encoder.encode(event.value));
    assert.equal(!decoded.ok && decoded.reason, "too_large");
    assert.equal(!decoded.ok && decoded.eventId, event.eventId);
  });

  await t.step("decode never throws on arbitrary bytes", () => {
    for (let index = 0; index < 500; index++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (index % 64)));
      const decoded = decoder.decode(bytes);
      assert.equal(decoded.ok, false);
    }
  });

  await t.step("scanEventId reads an escaped id and ignores text without one", () => {
    assert.equal(scanEventId('{"a":1,"event_id" : "x\\"y" , broken'), 'x"y');
    assert.equal(scanEventId("no id here"), undefined);
  });
});
