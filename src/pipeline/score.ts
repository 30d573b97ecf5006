/**
 * The model seen from the pipeline: one call per batch with the valid
 * events only. The pipeline depends on this small interface, not on
 * `src/model/`, so unit tests run with a fake model and the command wires in
 * the real one (`loadScorer` in `src/model/scorer.ts` satisfies it).
 *
 * @module
 */

/** A scored record. */
export interface ScoredOutcome {
  /** Accepted by the model. */
  ok: true;
  /** P(churn = Yes). */
  churn_probability: number;
  /** `Yes` when the probability reaches the model's threshold. */
  prediction: "Yes" | "No";
  /** Confidence in the prediction made. */
  confidence_score: number;
  /** Version of the model that scored it. */
  model_version: string;
}

/** A record the model refused (e.g. a category it was not trained on). */
export interface RejectedOutcome {
  /** Refused. */
  ok: false;
  /** Stable reason code, dead-lettered as is. */
  reason: string;
  /** Readable message. */
  message: string;
}

/** One record's outcome, in input order. */
export type ScoreOutcome = ScoredOutcome | RejectedOutcome;

/** What the pipeline needs of a model. */
export interface Scorer {
  /** Model version, copied into every prediction. */
  readonly version: string;
  /** Scores records in one call; `results[i]` belongs to `records[i]`. */
  score(records: readonly unknown[]): Promise<{ results: ScoreOutcome[]; inferenceMs: number }>;
}

/** Outcomes of a batch and the model time they took. */
export interface BatchScores {
  /** One outcome per record, in order. */
  results: ScoreOutcome[];
  /** Model time of the batch, in ms. */
  inferenceMs: number;
}

/** Reason code of a record whose scoring threw while the rest of its batch scored. */
export const MODEL_ERROR = "model_error";

/**
 * Scores `records` with one model call. When that call throws, each record
 * is scored alone so that one poison record becomes a dead letter instead of
 * stalling its partition; when every record throws alone too, the model is
 * broken rather than the data, and the first error is rethrown.
 */
export async function scoreBatch(scorer: Scorer, records: readonly unknown[]): Promise<BatchScores> {
  if (records.length === 0) return { results: [], inferenceMs: 0 };
  let batchError: unknown;
  try {
    const scored = await scorer.score(records);
    if (scored.results.length !== records.length) {
      throw new Error(`the model returned ${scored.results.length} results for ${records.length} records`);
    }
    return scored;
  } catch (error) {
    batchError = error;
  }
  const results: ScoreOutcome[] = [];
  let inferenceMs = 0;
  let failures = 0;
  for (const record of records) {
    try {
      const single = await scorer.score([record]);
      inferenceMs += single.inferenceMs;
      results.push(
        single.results[0] ?? { ok: false, reason: MODEL_ERROR, message: "the model returned no result" },
      );
    } catch (error) {
      failures++;
      results.push({ ok: false, reason: MODEL_ERROR, message: `the model failed on this record: ${oneLineOf(error)}` });
    }
  }
  if (failures === records.length) throw batchError;
  return { results, inferenceMs };
}

function oneLineOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").slice(0, 200);
}
