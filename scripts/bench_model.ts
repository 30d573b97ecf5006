/**
 * `deno task bench:model [--json] [--iterations N]`: rows/s and per-call
 * latency of `Scorer.score` (validation + tensors + one onnxruntime call) at
 * batch sizes 1, 64, 1024 and 8192. Records are the golden fixture's rows,
 * cycled, so the numbers include real validation work. Each size gets a
 * warm-up, then the median of several timed calls; a median shrugs off the
 * odd GC pause that a mean would smear over every call.
 *
 * @module
 */
import { parseScriptArgs } from "./script_args.ts";
import { loadScorer } from "../src/model/scorer.ts";

const SIZES = [1, 64, 1024, 8192];
const TARGET_ROWS_PER_S_1024 = 100_000;
const TARGET_MS_BATCH_1 = 0.5;

/** One batch size's result. */
export interface BenchRow {
  batch: number;
  iterations: number;
  median_ms_per_call: number;
  p90_ms_per_call: number;
  median_inference_ms: number;
  rows_per_s: number;
}

async function main(args: string[]): Promise<number> {
  const jsonOnly = parseScriptArgs("bench:model", args, { json: { type: "boolean", default: false } }).json;
  const iterArg = args.indexOf("--iterations");
  const scale = iterArg >= 0 ? Number(args[iterArg + 1]) : 1;
  const golden = JSON.parse(
    await Deno.readTextFile(new URL("../tests/fixtures/golden_scores.json", import.meta.url)),
  ) as { rows: { record: Record<string, unknown> }[] };
  const pool = golden.rows.map((r) => r.record);

  const scorer = await loadScorer();
  const rows: BenchRow[] = [];
  for (const batch of SIZES) {
    const records = Array.from({ length: batch }, (_, i) => pool[i % pool.length]);
    // Enough calls for a stable median without making batch 8192 take ages.
    const iterations = Math.max(5, Math.round(Math.min(2000, 400_000 / batch) * scale));
    for (let i = 0; i < Math.min(50, iterations); i++) await scorer.score(records);
    const wall: number[] = [];
    const inference: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      const { inferenceMs } = await scorer.score(records);
      wall.push(performance.now() - t0);
      inference.push(inferenceMs);
    }
    const median = quantile(wall, 0.5);
    rows.push({
      batch,
      iterations,
      median_ms_per_call: round(median, 4),
      p90_ms_per_call: round(quantile(wall, 0.9), 4),
      median_inference_ms: round(quantile(inference, 0.5), 4),
      rows_per_s: Math.round(batch / (median / 1000)),
    });
  }
  await scorer.close();

  const r1 = rows.find((r) => r.batch === 1)!;
  const r1024 = rows.find((r) => r.batch === 1024)!;
  const result = {
    model_version: scorer.version,
    deno: Deno.version.deno,
    rows,
    targets: {
      rows_per_s_at_1024: {
        target: TARGET_ROWS_PER_S_1024,
        value: r1024.rows_per_s,
        met: r1024.rows_per_s >= TARGET_ROWS_PER_S_1024,
      },
      ms_per_call_at_1: {
        target: TARGET_MS_BATCH_1,
        value: r1.median_ms_per_call,
        met: r1.median_ms_per_call < TARGET_MS_BATCH_1,
      },
    },
  };
  if (!jsonOnly) {
    console.log(`model ${scorer.version}, Deno ${Deno.version.deno}`);
    console.log("batch   iters   median ms/call   p90 ms/call   inference ms      rows/s");
    for (const r of rows) {
      console.log(
        `${pad(r.batch, 5)}  ${pad(r.iterations, 6)}  ${pad(r.median_ms_per_call.toFixed(4), 15)}  ${
          pad(r.p90_ms_per_call.toFixed(4), 12)
        }  ${pad(r.median_inference_ms.toFixed(4), 13)}  ${pad(r.rows_per_s.toLocaleString("en-US"), 10)}`,
      );
    }
  }
  console.log(JSON.stringify(result));
  return 0;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function pad(value: string | number, width: number): string {
  return String(value).padStart(width);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
