import assert from "node:assert/strict";
import { ConfigError } from "../../src/errors.ts";
import {
  type Checkpoint,
  identifyInput,
  identityMismatch,
  readCheckpoint,
  removeCheckpoint,
  writeCheckpoint,
} from "../../src/pipeline/checkpoint.ts";

async function sample(dir: string, nextRow = 101): Promise<Checkpoint> {
  const input = `${dir}/in.csv`;
  await Deno.writeTextFile(input, "a,b\n1,2\n");
  return {
    version: 1,
    input: await identifyInput(input),
    topic: "t",
    nextRow,
    batchSize: 100,
    state: "running",
    runId: "r",
    updatedAt: new Date().toISOString(),
  };
}

Deno.test("checkpoint", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("checkpoint round-trips and is written with mode 0600 into a new folder", async () => {
      const path = `${dir}/state/sub/cp.json`;
      const checkpoint = await sample(dir);
      await writeCheckpoint(path, checkpoint);
      assert.deepEqual(await readCheckpoint(path), checkpoint);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    });
    await t.step("checkpoint writes leave no temp file and a reader never sees a partial file", async () => {
      const path = `${dir}/atomic.json`;
      const base = await sample(dir);
      let reads = 0;
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const text = await Deno.readTextFile(path).catch(() => undefined);
          if (text !== undefined) {
            JSON.parse(text); // throws on a torn write
            reads++;
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })();
      for (let row = 1; row <= 300; row++) await writeCheckpoint(path, { ...base, nextRow: row });
      writing = false;
      await reader;
      assert.ok(reads > 0);
      assert.equal((await readCheckpoint(path))?.nextRow, 300);
      const leftovers = [...Deno.readDirSync(dir)].filter((entry) => entry.name.endsWith(".tmp"));
      assert.deepEqual(leftovers, []);
    });
    await t.step("checkpoint is undefined when missing and a ConfigError when garbled", async () => {
      assert.equal(await readCheckpoint(`${dir}/none.json`), undefined);
      await Deno.writeTextFile(`${dir}/bad.json`, "{not json");
      await assert.rejects(readCheckpoint(`${dir}/bad.json`), ConfigError);
      await Deno.writeTextFile(`${dir}/other.json`, '{"version":2}');
      await assert.rejects(readCheckpoint(`${dir}/other.json`), ConfigError);
    });
    await t.step("checkpoint identity matches the same file and names what differs for another", async () => {
      const a = `${dir}/a.csv`, b = `${dir}/b.csv`;
      await Deno.writeTextFile(a, "x,y\n1,2\n");
      await Deno.writeTextFile(b, "x,y\n1,2\n");
      const identity = await identifyInput(a);
      assert.equal(identityMismatch(identity, await identifyInput(a)), undefined);
      assert.match(identityMismatch(identity, await identifyInput(b))!, /it is for/);
      await Deno.writeTextFile(a, "x,y\n1,3\n"); // same size, other content
      assert.match(identityMismatch(identity, await identifyInput(a))!, /content changed/);
      await Deno.writeTextFile(a, "x,y\n1,2\n3,4\n");
      assert.match(identityMismatch(identity, await identifyInput(a))!, /changed size/);
    });
    await t.step("checkpoint removal is quiet when there is none", async () => {
      await removeCheckpoint(`${dir}/never.json`);
      await writeCheckpoint(`${dir}/gone.json`, await sample(dir));
      await removeCheckpoint(`${dir}/gone.json`);
      assert.equal(await readCheckpoint(`${dir}/gone.json`), undefined);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
