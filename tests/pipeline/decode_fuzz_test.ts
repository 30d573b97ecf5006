/**
 * Property-based fuzz of the input contract, without a broker: every bad kind
 * of `scripts/soak/bad_messages.ts` is refused by the decoder with its stable
 * reason, every valid kind is accepted by the decoder AND the real model's
 * validation, and a mixed batch through the real `BatchProcessor` gives one
 * record per message (dead letters keep the original key and bytes).
 *
 * The integration half (real broker, real consumer process) is
 * tests/commands/consume_fuzz_test.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { EventDecoder } from "../../src/pipeline/decode.ts";
import { DLQ_HEADERS } from "../../src/pipeline/encode.ts";
import { BatchProcessor } from "../../src/pipeline/process.ts";
import { loadScorer } from "../../src/model/scorer.ts";
import { BAD_KINDS, mixedMessageArb, VALID_KINDS } from "../../scripts/soak/bad_messages.ts";
import type { InputMessage } from "../../src/pipeline/records.ts";

const RUNS = Number(Deno.env.get("CHURNCTL_FUZZ_RUNS") ?? 150);
const encoder = new TextEncoder();

Deno.test("decode fuzz", async (t) => {
  const decoder = new EventDecoder();
  const scorer = await loadScorer();
  try {
    await t.step("decode fuzz covers at least 30 named bad kinds", () => {
      const names = BAD_KINDS.map((kind) => kind.name);
      assert.equal(new Set(names).size, names.length, "kind names are unique");
      assert.ok(names.length >= 30, `only ${names.length} bad kinds: ${names.join(", ")}`);
    });

    for (const kind of BAD_KINDS) {
      await t.step(`decode fuzz refuses ${kind.name} with a stable reason`, () => {
        fc.assert(
          fc.property(kind.arbitrary, (message) => {
            const first = decoder.decode(message.value);
            assert.equal(first.ok, false, `accepted: ${preview(message.value)}`);
            if (first.ok) return;
            assert.equal(first.reason, message.expect, `${first.message} — ${preview(message.value)}`);
            assert.ok(first.message.length > 0);
            // Stable: the same bytes always give the same reason.
            const again = decoder.decode(message.value);
            assert.equal(!again.ok && again.reason, first.reason);
          }),
          { numRuns: RUNS },
        );
      });
    }

    for (const kind of VALID_KINDS) {
      await t.step(`decode fuzz accepts ${kind.name} and the model scores it`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(kind.arbitrary, { minLength: 1, maxLength: 20 }), async (messages) => {
            const events = messages.map((message) => {
              const decoded = decoder.decode(message.value);
              assert.equal(decoded.ok, true, `refused (${!decoded.ok && decoded.message}): ${preview(message.value)}`);
              return decoded.ok ? decoded.event : undefined;
            });
            const { results } = await scorer.score(events);
            for (const result of results) assert.equal(result.ok, true, JSON.stringify(result));
          }),
          { numRuns: Math.max(20, Math.floor(RUNS / 3)) },
        );
      });
    }

    await t.step("decode fuzz gives one record per message of a mixed batch, with the original bytes", async () => {
      const processor = new BatchProcessor({ scorer, topics: { predictions: "p", deadletter: "d" } });
      await fc.assert(
        fc.asyncProperty(fc.array(mixedMessageArb(), { minLength: 1, maxLength: 80 }), async (generated) => {
          const messages: InputMessage[] = generated.map((message, index) => ({
            offset: String(index),
            timestamp: String(1_700_000_000_000 + index),
            key: message.key === null ? null : encoder.encode(message.key),
            value: message.value,
            headers: { "fuzz-index": String(index) },
          }));
          const { records, outcome } = await processor.process({ topic: "in", partition: 0, messages });
          assert.equal(records.length, messages.length);
          const bySource = new Map<string, (typeof records)[number]>();
          for (const record of records) {
            const offset = record.topic === "p"
              ? String(record.headers?.["source-offset"])
              : String(record.headers?.[DLQ_HEADERS.sourceOffset]);
            assert.ok(!bySource.has(offset), `two records for offset ${offset}`);
            bySource.set(offset, record);
          }
          for (const [index, message] of generated.entries()) {
            const record = bySource.get(String(index));
            assert.ok(record, `no record for ${message.kind}`);
            if (message.expect === "predicted") {
              assert.equal(record.topic, "p", `${message.kind} was dead-lettered`);
            } else {
              assert.equal(record.topic, "d", `${message.kind} was predicted`);
              assert.equal(record.headers?.[DLQ_HEADERS.reason], message.expect, message.kind);
              assert.deepEqual(record.value, messages[index].value, "dead letter keeps the original bytes");
              assert.deepEqual(record.key, messages[index].key, "dead letter keeps the original key");
            }
          }
          const dead = [...outcome.deadLetters.values()].reduce((sum, count) => sum + count, 0);
          assert.equal(outcome.predicted + dead, messages.length);
        }),
        { numRuns: Math.max(30, Math.floor(RUNS / 2)) },
      );
    });
  } finally {
    await scorer.close();
  }
});

function preview(value: Uint8Array | null): string {
  if (value === null) return "null";
  const text = new TextDecoder().decode(value.subarray(0, 300));
  return JSON.stringify(text) + (value.length > 300 ? ` … (${value.length} bytes)` : "");
}
