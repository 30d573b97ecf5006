/**
 * Shared by the bench scripts: what a child process cost (peak RSS from the
 * kernel, CPU seconds) and where results are kept (`bench/results/`, with
 * the commit they came from so runs can be compared between commits).
 *
 * @module
 */

/** What {@link watchProcess} saw of a process. */
export interface ProcessUsage {
  /** Peak resident set size (`VmHWM`), in MB. */
  peakRssMb: number;
  /** User + system CPU time, in seconds (the last sample before the process exited). */
  cpuSec: number;
}

const CLOCK_TICKS_PER_SEC = 100;

/**
 * Samples `/proc/<pid>` every `intervalMs` until the process exits, through
 * a small shell loop (Deno lets only `--allow-all` read another process's
 * `/proc` files). VmHWM is the kernel's own high-water mark, so the last
 * sample is the peak whatever the interval; CPU time misses at most the last
 * interval. Zeros where there is no `/proc`.
 */
export async function watchProcess(pid: number, intervalMs = 100): Promise<ProcessUsage> {
  const script = `while [ -r /proc/${pid}/stat ]; do ` +
    `h=$(awk '/^VmHWM:/ {print $2}' /proc/${pid}/status 2>/dev/null); ` +
    `t=$(cut -d' ' -f14,15 /proc/${pid}/stat 2>/dev/null); ` +
    `[ -n "$h" ] && [ -n "$t" ] && echo "$h $t"; sleep ${intervalMs / 1000}; done`;
  const output = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped", stderr: "null" }).output()
    .catch(() => undefined);
  const usage: ProcessUsage = { peakRssMb: 0, cpuSec: 0 };
  const lines = output ? new TextDecoder().decode(output.stdout).trim().split("\n").filter(Boolean) : [];
  for (const line of lines) {
    const [hwmKb, utime, stime] = line.split(" ").map(Number);
    usage.peakRssMb = Math.max(usage.peakRssMb, Math.round(hwmKb / 1024));
    usage.cpuSec = Math.max(usage.cpuSec, (utime + stime) / CLOCK_TICKS_PER_SEC);
  }
  return usage;
}

/** The checkout the bench ran from: `git rev-parse HEAD` and whether the tree had uncommitted changes. */
export async function gitState(root: string): Promise<{ commit: string; dirty: boolean }> {
  const run = async (args: string[]) => {
    const output = await new Deno.Command("git", { args, cwd: root, stdout: "piped", stderr: "null" }).output();
    return output.success ? new TextDecoder().decode(output.stdout).trim() : undefined;
  };
  const commit = await run(["rev-parse", "HEAD"]).catch(() => undefined);
  const status = await run(["status", "--porcelain", "--untracked-files=no"]).catch(() => undefined);
  return { commit: commit ?? "unknown", dirty: status === undefined ? true : status !== "" };
}

/** 1-minute load average at the start of a run: other work on the machine skews every figure. */
export function loadAverage(): number | null {
  try {
    return Deno.loadavg()[0];
  } catch {
    return null;
  }
}

/**
 * Writes `result` to `bench/results/<name>-latest.json` and `<name>-<commit>[-dirty].json`
 * (the latest run of each commit); returns the first path.
 */
export async function saveResult(root: string, name: string, result: Record<string, unknown>): Promise<string> {
  const git = await gitState(root);
  const directory = `${root}bench/results`;
  await Deno.mkdir(directory, { recursive: true });
  const text = JSON.stringify({ ...result, git }, null, 2) + "\n";
  const latest = `${directory}/${name}-latest.json`;
  await Deno.writeTextFile(latest, text);
  await Deno.writeTextFile(`${directory}/${name}-${git.commit.slice(0, 12)}${git.dirty ? "-dirty" : ""}.json`, text);
  return latest;
}

/**
 * The `--v8-flags=…` of the `churnctl` task in deno.json, so a bench runs the CLI with the same V8 settings a user
 * gets (`--max-semi-space-size=8` keeps the young generation from growing to its default maximum under the
 * consumer's allocation rate: ~40 MB less peak RSS, same CPU).
 */
export async function cliV8Flags(root: string): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  return String(config.tasks?.churnctl ?? "").split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
}
