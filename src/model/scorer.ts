/**
 * Batched churn scoring with the bundled ONNX graph (`models/churn.onnx`).
 *
 * Records are validated against the model card one by one, but the model runs
 * once per batch over the valid ones: the per-call overhead of onnxruntime is
 * what made the old one-record-at-a-time scorer slow. A record the model
 * cannot take comes back as a rejection with a reason code, so one bad
 * message never takes a batch down. Plain values in, plain values out: this
 * module knows nothing about Kafka.
 *
 * @example
 * ```ts
 * import { loadScorer } from "./scorer.ts";
 * const scorer = await loadScorer();
 * const { results } = await scorer.score([record]);
 * await scorer.close();
 * ```
 *
 * @module
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import { ModelError, oneLine } from "../errors.ts";
import { cardPathFor, displayPath, type InputSpec, loadCard, type ModelCard, parseCard } from "./card.ts";
import { readGraphSignature } from "./onnx_graph.ts";

/** Where the bundled model lives, relative to this module (works in `deno compile` with `--include models`). */
export const DEFAULT_MODEL_URL: URL = new URL("../../models/churn.onnx", import.meta.url);

/** Stable reason codes of a record the model cannot take. */
export type RejectReason =
  | "not_an_object"
  | "missing_field"
  | "wrong_type"
  | "unknown_category"
  | "out_of_range"
  | "not_a_number";

/**
 * A scored record.
 *
 * `confidence_score` is how far the probability sits from the decision
 * threshold `t`, scaled to [0, 1] on its own side: `(p - t) / (1 - t)` for a
 * "Yes", `(t - p) / t` for a "No". 0 means the record sits on the threshold,
 * 1 means the model is certain. It follows the thresholded decision, which
 * `max(p, 1 - p)` would not (with t = 0.35, p = 0.4 is a "Yes" that
 * `max(p, 1 - p)` would call 60 % sure of "No").
 */
export interface Scored {
  ok: true;
  /** P(Churn = Yes) from the graph. */
  churn_probability: number;
  /** "Yes" when `churn_probability >= threshold` (from the card). */
  prediction: "Yes" | "No";
  confidence_score: number;
  /** The card's version (content hash of the ONNX bytes). */
  model_version: string;
}

/** A record the model cannot take; the batch goes on without it. */
export interface Rejected {
  ok: false;
  reason: RejectReason;
  /** One line for a person: field and what was wrong. */
  message: string;
  /** The offending field, when there is one. */
  field?: string;
}

/** The outcome of one record, in input order. */
export type ScoreOutcome = Scored | Rejected;

/** The result of one `score` call. */
export interface ScoreBatch {
  /** One outcome per input record, same order. */
  results: ScoreOutcome[];
  /** Time inside onnxruntime for the batch (0 when nothing was valid). */
  inferenceMs: number;
}

/** A loaded model ready to score batches. */
export interface Scorer {
  /** The model card the scorer validates against. */
  readonly card: ModelCard;
  /** Model version (`sha256:<12 hex>`), stamped on every prediction. */
  readonly version: string;
  /** Decision threshold on `churn_probability`, from the card. */
  readonly threshold: number;
  /** Scores a batch with one onnxruntime call over its valid records. */
  score(records: readonly unknown[]): Promise<ScoreBatch>;
  /** Releases the onnxruntime session. */
  close(): Promise<void>;
}

/** Options of `loadScorer` and `checkModel`. */
export interface ScorerOptions {
  /**
   * ONNX model file (path relative to the working directory, or a URL).
   * @default DEFAULT_MODEL_URL (the bundled `models/churn.onnx`)
   */
  modelPath?: string | URL;
  /**
   * Model card; by default the `.model.json` beside the model.
   * @default cardPathFor(modelPath)
   */
  cardPath?: string | URL;
  /**
   * An already parsed card to use instead of reading `cardPath`, for callers
   * that keep the card elsewhere (and for tests of the mismatch checks).
   */
  card?: ModelCard;
}

/**
 * One intra-op thread: onnxruntime's default pool (one thread per core, spin-waiting) made a 2,000-row batch take
 * 11–14 ms of CPU here against 5 ms on one thread, and its spinning took the CPU the broker and the JS thread need.
 */
const SESSION_OPTIONS: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };

/**
 * Loads a model and its card and checks that they agree: content hash, input
 * names and types. Every failure is a one-line `ModelError` naming the file.
 */
export async function loadScorer(options: ScorerOptions = {}): Promise<Scorer> {
  const modelPath = options.modelPath ?? DEFAULT_MODEL_URL;
  const cardPath = options.cardPath ?? cardPathFor(modelPath);
  const shown = displayPath(modelPath);
  let bytes: Uint8Array;
  try {
    // Bytes, not a path: inside a compiled binary the file lives in Deno's
    // embedded file system, which the native onnxruntime cannot open.
    bytes = await Deno.readFile(modelPath);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "not found" : oneLine(error);
    throw new ModelError(`model ${shown}: ${why}`);
  }
  const card = options.card ? parseCard(options.card, "given in options") : await loadCard(cardPath);

  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  const version = "sha256:" + Array.from(digest.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join("");
  if (version !== card.version) {
    throw new ModelError(
      `model ${shown} is ${version} but its card ${displayPath(cardPath)} describes ${card.version}`,
    );
  }

  let signature;
  try {
    signature = readGraphSignature(bytes);
  } catch (error) {
    throw new ModelError(`model ${shown}: not an ONNX model (${oneLine(error)})`);
  }
  checkSignature(signature.inputs, card.inputs, shown);
  if (!signature.outputs.some((o) => o.name === "probabilities")) {
    throw new ModelError(`model ${shown} has no "probabilities" output (was ZipMap left on?)`);
  }

  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (error) {
    throw new ModelError(`model ${shown}: onnxruntime cannot load it (${oneLine(error)})`);
  }
  return new OnnxScorer(session, card);
}

function checkSignature(
  graph: { name: string; type: string; shape: (number | null)[] }[],
  inputs: readonly InputSpec[],
  shown: string,
): void {
  const graphNames = graph.map((g) => g.name);
  const cardNames = inputs.map((i) => i.name);
  const missing = cardNames.filter((n) => !graphNames.includes(n));
  const extra = graphNames.filter((n) => !cardNames.includes(n));
  if (missing.length || extra.length) {
    const parts = [
      missing.length ? `card-only inputs: ${missing.join(", ")}` : "",
      extra.length ? `graph-only inputs: ${extra.join(", ")}` : "",
    ].filter(Boolean);
    throw new ModelError(`model ${shown} does not match its card (${parts.join("; ")})`);
  }
  for (const spec of inputs) {
    const g = graph.find((x) => x.name === spec.name)!;
    const want = spec.kind === "categorical" ? "string" : "float";
    if (g.type !== want) {
      throw new ModelError(
        `model ${shown} does not match its card: input ${spec.name} is ${g.type} in the graph, ${spec.type} in the card`,
      );
    }
    if (g.shape.length !== 2 || (g.shape[1] !== null && g.shape[1] !== 1)) {
      throw new ModelError(`model ${shown}: input ${spec.name} must be [N,1], is [${g.shape.join(",")}]`);
    }
  }
}

type Validator = (record: Record<string, unknown>) => Rejected | undefined;

class OnnxScorer implements Scorer {
  readonly card: ModelCard;
  readonly version: string;
  readonly threshold: number;
  #session: InferenceSession;
  #numeric: { name: string; buffer: Float32Array }[];
  #categorical: { name: string; buffer: string[] }[];
  #validators: Validator[];
  // Buffers are reused between batches, so two overlapping `score` calls
  // must not fill them at once: calls queue on this promise.
  #tail: Promise<unknown> = Promise.resolve();

  constructor(session: InferenceSession, card: ModelCard) {
    this.#session = session;
    this.card = card;
    this.version = card.version;
    this.threshold = card.threshold.value;
    this.#numeric = card.inputs.filter((i) => i.kind === "numeric").map((i) => ({
      name: i.name,
      buffer: new Float32Array(1024),
    }));
    this.#categorical = card.inputs.filter((i) => i.kind === "categorical").map((i) => ({
      name: i.name,
      buffer: [],
    }));
    this.#validators = card.inputs.map(validatorFor);
  }

  score(records: readonly unknown[]): Promise<ScoreBatch> {
    const run = this.#tail.then(() => this.#score(records));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #score(records: readonly unknown[]): Promise<ScoreBatch> {
    const results: ScoreOutcome[] = new Array(records.length);
    const valid: Record<string, unknown>[] = [];
    const slots: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      if (typeof record !== "object" || record === null || Array.isArray(record)) {
        results[i] = { ok: false, reason: "not_an_object", message: "the record is not an object" };
        continue;
      }
      const rejection = this.#validate(record as Record<string, unknown>);
      if (rejection) {
        results[i] = rejection;
      } else {
        valid.push(record as Record<string, unknown>);
        slots.push(i);
      }
    }
    const n = valid.length;
    if (n === 0) return { results, inferenceMs: 0 };

    const feeds: Record<string, Tensor> = {};
    for (const column of this.#numeric) {
      if (column.buffer.length < n) column.buffer = new Float32Array(Math.max(n, column.buffer.length * 2));
      const data = column.buffer;
      for (let r = 0; r < n; r++) {
        const v = valid[r][column.name];
        data[r] = v === null ? NaN : (v as number);
      }
      feeds[column.name] = new Tensor("float32", data.subarray(0, n), [n, 1]);
    }
    for (const column of this.#categorical) {
      const data = column.buffer;
      data.length = n;
      for (let r = 0; r < n; r++) data[r] = valid[r][column.name] as string;
      feeds[column.name] = new Tensor("string", data, [n, 1]);
    }

    const started = performance.now();
    let probabilities: Float32Array;
    try {
      // No fetch list: onnxruntime-node 1.20.1 returns a fetched subset under
      // the wrong output names (`run(feeds, ["probabilities"])` yields
      // `{ label: <probabilities> }`). The extra int64 label is cheap.
      const out = await this.#session.run(feeds);
      const tensor = out.probabilities;
      if (tensor?.type !== "float32" || tensor.dims[0] !== n || tensor.dims[1] !== 2) {
        throw new Error(`unexpected probabilities output ${tensor?.type} [${tensor?.dims}]`);
      }
      probabilities = tensor.data as Float32Array;
    } catch (error) {
      throw new ModelError(`model ${this.version}: inference failed (${oneLine(error)})`);
    }
    const inferenceMs = performance.now() - started;

    const t = this.threshold;
    for (let r = 0; r < n; r++) {
      const p = probabilities[2 * r + 1];
      const yes = p >= t;
      results[slots[r]] = {
        ok: true,
        churn_probability: p,
        prediction: yes ? "Yes" : "No",
        confidence_score: yes ? (p - t) / (1 - t) : (t - p) / t,
        model_version: this.version,
      };
    }
    return { results, inferenceMs };
  }

  #validate(record: Record<string, unknown>): Rejected | undefined {
    for (const validate of this.#validators) {
      const rejection = validate(record);
      if (rejection) return rejection;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#session.release();
  }
}

function reject(reason: RejectReason, field: string, message: string): Rejected {
  return { ok: false, reason, field, message: `${field}: ${message}` };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `"${value.length > 40 ? value.slice(0, 40) + "…" : value}"` : typeof value;
}

function validatorFor(spec: InputSpec): Validator {
  const name = spec.name;
  if (spec.kind === "categorical") {
    const allowed = new Set(spec.values);
    const list = spec.values.join(", ");
    return (record) => {
      const value = record[name];
      if (value === undefined) return reject("missing_field", name, "missing");
      if (typeof value !== "string") return reject("wrong_type", name, `expected a string, got ${describe(value)}`);
      if (!spec.allow_unknown && !allowed.has(value)) {
        return reject("unknown_category", name, `${describe(value)} is not one of ${list}`);
      }
      return undefined;
    };
  }
  const { min, max, nan_allowed: nanAllowed } = spec;
  const values = spec.values ? new Set(spec.values) : undefined;
  return (record) => {
    const value = record[name];
    if (value === undefined) return reject("missing_field", name, "missing");
    if (value === null || (typeof value === "number" && Number.isNaN(value))) {
      return nanAllowed ? undefined : reject("not_a_number", name, "a number is required, got a missing value");
    }
    if (typeof value !== "number") return reject("wrong_type", name, `expected a number, got ${describe(value)}`);
    if (!Number.isFinite(value)) return reject("out_of_range", name, `${value} is not finite`);
    if (values && !values.has(value)) {
      return reject("out_of_range", name, `${value} is not one of ${[...values].join(", ")}`);
    }
    if (min !== null && value < min) return reject("out_of_range", name, `${value} is below ${min}`);
    if (max !== null && value > max) return reject("out_of_range", name, `${value} is above ${max}`);
    return undefined;
  };
}

/** A valid record (the data set's first row) that the health check scores. */
export const CANARY_RECORD: Readonly<Record<string, string | number | null>> = Object.freeze({
  customerID: "canary",
  gender: "Female",
  SeniorCitizen: 0,
  Partner: "Yes",
  Dependents: "No",
  tenure: 1,
  PhoneService: "No",
  MultipleLines: "No phone service",
  InternetService: "DSL",
  OnlineSecurity: "No",
  OnlineBackup: "Yes",
  DeviceProtection: "No",
  TechSupport: "No",
  StreamingTV: "No",
  StreamingMovies: "No",
  Contract: "Month-to-month",
  PaperlessBilling: "Yes",
  PaymentMethod: "Electronic check",
  MonthlyCharges: 29.85,
  TotalCharges: 29.85,
});

/** What `health` shows for the model. */
export interface ModelCheck {
  ok: boolean;
  version?: string;
  /** One line: what was loaded and what the canary scored, or why it failed. */
  detail: string;
  /** Time to score the canary (or to fail), in milliseconds. */
  latencyMs: number;
}

/** Loads the model and scores one canary record; never throws. */
export async function checkModel(options: ScorerOptions = {}): Promise<ModelCheck> {
  const started = performance.now();
  let scorer: Scorer | undefined;
  try {
    scorer = await loadScorer(options);
    const t0 = performance.now();
    const { results } = await scorer.score([CANARY_RECORD]);
    const latencyMs = round3(performance.now() - t0);
    const [result] = results;
    if (!result.ok) {
      return {
        ok: false,
        version: scorer.version,
        detail: `canary record rejected: ${result.reason} (${result.message})`,
        latencyMs,
      };
    }
    if (!(result.churn_probability >= 0 && result.churn_probability <= 1)) {
      return {
        ok: false,
        version: scorer.version,
        detail: `canary probability ${result.churn_probability} is not in [0, 1]`,
        latencyMs,
      };
    }
    return {
      ok: true,
      version: scorer.version,
      detail: `${scorer.version} loaded, canary scored ${
        result.churn_probability.toFixed(4)
      } (${result.prediction}) in ${latencyMs} ms`,
      latencyMs,
    };
  } catch (error) {
    return { ok: false, detail: oneLine(error), latencyMs: round3(performance.now() - started) };
  } finally {
    await scorer?.close().catch(() => undefined);
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
