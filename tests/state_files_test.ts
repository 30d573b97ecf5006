import assert from "node:assert/strict";
import { join } from "node:path";
import { appendPrivateFile, ensurePrivateDir, writePrivateFile } from "../src/state_files.ts";

const posix = Deno.build.os !== "windows";

/** File modes mean nothing on Windows: the mode checks run on POSIX only. */
function posixStep(t: Deno.TestContext, name: string, fn: () => Promise<void>): Promise<boolean> {
  return t.step({ name, ignore: !posix, fn });
}

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("state files", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "churnctl-state-files-" });
  try {
    await posixStep(t, "writePrivateFile creates the file 0600 and missing folders 0700", async () => {
      const path = join(root, "a", "b", "checkpoint.json");
      await writePrivateFile(path, "{}\n");
      assert.equal(await Deno.readTextFile(path), "{}\n");
      assert.equal(await modeOf(path), 0o600);
      assert.equal(await modeOf(join(root, "a")), 0o700);
      assert.equal(await modeOf(join(root, "a", "b")), 0o700);
    });

    await posixStep(t, "writePrivateFile replaces a world-readable file with an owner-only one", async () => {
      const path = join(root, "old.json");
      await Deno.writeTextFile(path, "old", { mode: 0o644 });
      await Deno.chmod(path, 0o644);
      await writePrivateFile(path, "new");
      assert.equal(await Deno.readTextFile(path), "new");
      assert.equal(await modeOf(path), 0o600);
    });

    await t.step("writePrivateFile leaves no temp file behind, also when the rename fails", async () => {
      const dir = join(root, "clean");
      await writePrivateFile(join(dir, "x.json"), "1");
      await writePrivateFile(join(dir, "x.json"), "2");
      // A directory at the target makes the rename fail.
      await Deno.mkdir(join(dir, "blocked"));
      await Deno.writeTextFile(join(dir, "blocked", "inside"), "keep");
      await assert.rejects(writePrivateFile(join(dir, "blocked"), "3"));
      const names = [];
      for await (const entry of Deno.readDir(dir)) names.push(entry.name);
      assert.deepEqual(names.sort(), ["blocked", "x.json"]);
      assert.equal(await Deno.readTextFile(join(dir, "x.json")), "2");
    });

    await posixStep(t, "ensurePrivateDir leaves an existing folder's mode alone", async () => {
      const dir = join(root, "chosen");
      await Deno.mkdir(dir);
      await Deno.chmod(dir, 0o755);
      await ensurePrivateDir(dir);
      assert.equal(await modeOf(dir), 0o755);
    });

    await posixStep(t, "appendPrivateFile creates 0600, appends, and narrows a wider file", async () => {
      const path = join(root, "history", "runs.jsonl");
      await appendPrivateFile(path, "1\n");
      await appendPrivateFile(path, "2\n");
      assert.equal(await Deno.readTextFile(path), "1\n2\n");
      assert.equal(await modeOf(path), 0o600);
      assert.equal(await modeOf(join(root, "history")), 0o700);
      await Deno.chmod(path, 0o644);
      await appendPrivateFile(path, "3\n");
      assert.equal(await modeOf(path), 0o600);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
