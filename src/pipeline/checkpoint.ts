/**
 * The batch producer's checkpoint: which input it belongs to (path, size,
 * sha256 of the first 64 KiB), which topic, and the next row to send.
 * Written atomically (temp file + rename, mode 0600) after each acknowledged
 * batch, so a kill at any moment leaves either the old or the new file.
 *
 * @module
 */
import { resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { writePrivateFile } from "../state_files.ts";

/** How many leading bytes of the input are hashed into its identity. */
export const IDENTITY_HEAD_BYTES = 64 * 1024;

/** What identifies an input file well enough to refuse a checkpoint of another one. */
export interface InputIdentity {
  /** Absolute path. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Hex sha256 of the first {@link IDENTITY_HEAD_BYTES} bytes. */
  headSha256: string;
}

/** Where the previous run stopped. */
export type CheckpointState = "running" | "stopped" | "complete";

/** The checkpoint file's content. */
export interface Checkpoint {
  /** Format version of this file. */
  version: 1;
  /** The input the rows are counted in. */
  input: InputIdentity;
  /** Topic the rows were sent to. */
  topic: string;
  /** First data row (1-based) not yet acknowledged. */
  nextRow: number;
  /** Batch size of the run that wrote it (the most a kill can duplicate). */
  batchSize: number;
  /** `running` after each batch; `stopped` (signal) or `complete` when the run ended cleanly. */
  state: CheckpointState;
  /** Run id of the producer that wrote it. */
  runId: string;
  /** When it was written, ISO-8601 UTC. */
  updatedAt: string;
}

/** Computes the identity of the input file at `path`. */
export async function identifyInput(path: string): Promise<InputIdentity> {
  const absolute = resolve(path);
  const file = await Deno.open(absolute, { read: true });
  try {
    const size = (await file.stat()).size;
    const head = new Uint8Array(Math.min(size, IDENTITY_HEAD_BYTES));
    let filled = 0;
    while (filled < head.length) {
      const read = await file.read(head.subarray(filled));
      if (read === null) break;
      filled += read;
    }
    const digest = await crypto.subtle.digest("SHA-256", head.subarray(0, filled));
    const headSha256 = Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
    return { path: absolute, size, headSha256 };
  } finally {
    file.close();
  }
}

/** Why a checkpoint does not belong to this input, or `undefined` when it does. */
export function identityMismatch(saved: InputIdentity, current: InputIdentity): string | undefined {
  if (saved.path !== current.path) return `it is for ${saved.path}`;
  if (saved.size !== current.size) return `the file changed size (${saved.size} → ${current.size} bytes)`;
  if (saved.headSha256 !== current.headSha256) return "the file's content changed";
  return undefined;
}

/** Reads a checkpoint; `undefined` when there is none. Throws {@link ConfigError} on an unreadable one. */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new ConfigError(`cannot read checkpoint ${path}: ${(error as Error).message}`);
  }
  let value: Partial<Checkpoint>;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError(`checkpoint ${path} is not valid JSON (remove it or use --restart)`);
  }
  if (
    value?.version !== 1 || typeof value.nextRow !== "number" || typeof value.topic !== "string" ||
    typeof value.input?.path !== "string" || typeof value.input?.headSha256 !== "string"
  ) {
    throw new ConfigError(`checkpoint ${path} is not a churnctl produce checkpoint (remove it or use --restart)`);
  }
  return value as Checkpoint;
}

/**
 * Writes the checkpoint atomically: a temp file (mode 0600) in the same
 * folder, then a rename over the old one. A missing folder is created 0700.
 */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  try {
    await writePrivateFile(path, JSON.stringify(checkpoint, null, 2) + "\n");
  } catch (error) {
    throw new ConfigError(`cannot write checkpoint ${path}: ${(error as Error).message}`);
  }
}

/** Removes a checkpoint (for `--restart`); no error when there is none. */
export async function removeCheckpoint(path: string): Promise<void> {
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
}
