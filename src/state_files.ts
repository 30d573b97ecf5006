/**
 * Files churnctl keeps between runs — checkpoints, run history, the secure
 * broker's `secure.env` — are owner-only: they name hosts, topics and users,
 * and `secure.env` holds a password. Whole files are written through a temp
 * file and a rename, so a reader (or a kill mid-write) sees the old file or
 * the new one, never half of one.
 *
 * @module
 */
import { dirname, resolve } from "node:path";

/** Mode of every state file churnctl creates: read and write for the owner only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of every state directory churnctl creates. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates `path` and its missing parents with {@link PRIVATE_DIR_MODE}. A
 * directory that already exists keeps its mode: the user chose it (it may be
 * `/tmp` or the working directory), and tightening it is not ours to do.
 */
export async function ensurePrivateDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Replaces the file at `path` with `data`, owner-only (0600), atomically:
 * a temp file beside it, then a rename. Missing folders are created 0700.
 *
 * @example
 * ```ts
 * await writePrivateFile(".churnctl/produce-checkpoint.json", JSON.stringify({ nextRow: 101 }));
 * ```
 */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  await ensurePrivateDir(dirname(resolve(path)));
  const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    // createNew: never follow a planted file or link at the temp name.
    await Deno.writeFile(temporary, bytes, { mode: PRIVATE_FILE_MODE, createNew: true });
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Appends `text` to the file at `path` (run history as JSON lines), creating
 * it owner-only. A file that exists with a wider mode is narrowed first, so
 * history written by an older version does not stay readable to others.
 */
export async function appendPrivateFile(path: string, text: string): Promise<void> {
  await ensurePrivateDir(dirname(resolve(path)));
  try {
    const { mode } = await Deno.stat(path);
    if (mode !== null && (mode & 0o077) !== 0) await Deno.chmod(path, PRIVATE_FILE_MODE);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.writeTextFile(path, text, { append: true, mode: PRIVATE_FILE_MODE });
}
