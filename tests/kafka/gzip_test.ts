import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import compression from "kafkajs/src/protocol/message/compression/index.js";
import { GZIP_LEVEL, gzipCodec } from "../../src/kafka/gzip.ts";

const text = Buffer.from(JSON.stringify(Array.from({ length: 500 }, (_, index) => ({ id: index, p: index / 500 }))));

Deno.test("gzipCodec", async (t) => {
  await t.step("gzipCodec is the codec kafkajs looks up for gzip", () => {
    assert.equal(compression.lookupCodec(compression.Types.GZIP), gzipCodec);
  });

  await t.step("gzipCodec writes standard gzip at level 1 that any gunzip reads back", async () => {
    const packed = await gzipCodec.compress({ buffer: text });
    assert.deepEqual([packed[0], packed[1]], [0x1f, 0x8b]);
    assert.deepEqual(zlib.gunzipSync(packed), text);
    assert.deepEqual(packed, zlib.gzipSync(text, { level: GZIP_LEVEL }));
  });

  await t.step("gzipCodec reads what other producers write (default-level gzip, zlib)", async () => {
    assert.deepEqual(await gzipCodec.decompress(zlib.gzipSync(text)), text);
    assert.deepEqual(await gzipCodec.decompress(zlib.deflateSync(text)), text);
    await assert.rejects(gzipCodec.decompress(Buffer.from("not gzip")));
    // Two gzip members: the trailer's size is the last member's only, so the size hint is too small.
    const twoMembers = Buffer.concat([zlib.gzipSync(text), zlib.gzipSync(Buffer.from("tail"))]);
    assert.deepEqual(await gzipCodec.decompress(twoMembers), Buffer.concat([text, Buffer.from("tail")]));
  });
});
