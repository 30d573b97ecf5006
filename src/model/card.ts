/**
 * The model card (`models/churn.model.json`, written by
 * `models/train/train.py`): what the ONNX graph expects and how good it is.
 * The scorer trusts the card for validation rules and the decision threshold,
 * so the loader checks every field the scorer relies on and fails with one
 * line instead of letting a broken card surface as odd predictions later.
 *
 * @module
 */
import { ModelError, oneLine } from "../errors.ts";

/** A string input fed as a `[N,1]` string tensor. */
export interface CategoricalInput {
  name: string;
  kind: "categorical";
  type: "string";
  /** Values seen in training; the one-hot encoder knows only these. */
  values: string[];
  /**
   * The graph ignores unseen values (all-zero one-hot), which would score a
   * typo silently, so the scorer rejects them unless this is true.
   */
  allow_unknown: boolean;
  nan_allowed: false;
}

/** A number fed as a `[N,1]` float32 tensor. */
export interface NumericInput {
  name: string;
  kind: "numeric";
  type: "float32";
  /** Enforced bounds (physical limits; `null` = unbounded). */
  min: number | null;
  max: number | null;
  /** Whether a missing value (null/NaN) may be fed; the graph imputes it. */
  nan_allowed: boolean;
  /** When present, the only values accepted (e.g. SeniorCitizen 0/1). */
  values?: number[];
  /** Range seen in training, for drift checks; not enforced. */
  observed?: { min: number; max: number };
}

/** One graph input as the card describes it. */
export type InputSpec = CategoricalInput | NumericInput;

/** Metrics at one threshold on the held-out test split. */
export interface SplitMetrics {
  threshold: number;
  roc_auc: number;
  pr_auc: number;
  accuracy: number;
  f1: number;
  precision: number;
  recall: number;
  brier: number;
  confusion_matrix: { tn: number; fp: number; fn: number; tp: number };
}

/** Cross-validation result of one candidate model. */
export interface CandidateScore {
  roc_auc_mean: number;
  roc_auc_std: number;
  roc_auc_folds: number[];
  onnx_max_abs_diff_train: number;
  eligible: boolean;
}

/** The parsed model card. */
export interface ModelCard {
  schema: string;
  name: string;
  /** `sha256:` + the first 12 hex digits of the ONNX bytes. */
  version: string;
  onnx_sha256: string;
  created: string;
  libraries: Record<string, string>;
  training_data: {
    file: string;
    sha256: string;
    rows: number;
    positives: number;
    blank_total_charges: number;
  };
  inputs: InputSpec[];
  outputs: { name: string; type: string; shape: (number | null)[] }[];
  positive_class: string;
  threshold: {
    value: number;
    metric: string;
    method: string;
    reason: string;
    oof_score: number;
  };
  selection: {
    metric: string;
    cv: string;
    candidates: Record<string, CandidateScore>;
    rule: string;
    best_cv: string;
    winner: string;
    runner_up: string;
    margin: number;
  };
  metrics: {
    test: SplitMetrics;
    test_at_0_5: SplitMetrics;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/**
 * The card that sits beside a model: same basename, `.onnx` replaced by
 * `.model.json` (`models/churn.onnx` → `models/churn.model.json`).
 */
export function cardPathFor(modelPath: string | URL): string | URL {
  if (modelPath instanceof URL) {
    const name = modelPath.pathname.split("/").pop() ?? "";
    return new URL(cardName(name), modelPath);
  }
  const slash = modelPath.lastIndexOf("/");
  return modelPath.slice(0, slash + 1) + cardName(modelPath.slice(slash + 1));
}

function cardName(modelName: string): string {
  return modelName.replace(/\.onnx$/i, "") + ".model.json";
}

/** Shows a path or file URL the way a user typed it. */
export function displayPath(path: string | URL): string {
  return path instanceof URL && path.protocol === "file:" ? decodeURIComponent(path.pathname) : String(path);
}

/** Reads and validates a card; any problem is a one-line `ModelError` naming the file. */
export async function loadCard(path: string | URL): Promise<ModelCard> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "not found" : oneLine(error);
    throw new ModelError(`model card ${displayPath(path)}: ${why}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelError(`model card ${displayPath(path)}: not JSON (${oneLine(error)})`);
  }
  return parseCard(json, displayPath(path));
}

/** Validates parsed JSON as a card; `source` names it in the error line. */
export function parseCard(json: unknown, source = "model card"): ModelCard {
  const fail = (what: string): never => {
    throw new ModelError(`model card ${source}: ${what}`);
  };
  if (!isObject(json)) return fail("not a JSON object");
  if (typeof json.version !== "string" || !/^sha256:[0-9a-f]{12}$/.test(json.version)) {
    fail("version must look like sha256:<12 hex>");
  }
  const threshold = json.threshold;
  if (
    !isObject(threshold) || typeof threshold.value !== "number" ||
    !(threshold.value > 0 && threshold.value < 1)
  ) {
    fail("threshold.value must be a number between 0 and 1");
  }
  if (!Array.isArray(json.inputs) || json.inputs.length === 0) fail("inputs must be a non-empty array");
  const seen = new Set<string>();
  for (const [i, input] of (json.inputs as unknown[]).entries()) {
    const where = `inputs[${i}]`;
    if (!isObject(input) || typeof input.name !== "string" || input.name === "") {
      return fail(`${where} has no name`);
    }
    if (seen.has(input.name)) fail(`${where}: duplicate input ${input.name}`);
    seen.add(input.name);
    if (input.kind === "categorical") {
      if (input.type !== "string") fail(`${input.name}: a categorical input must be type string`);
      if (!Array.isArray(input.values) || !input.values.every((v) => typeof v === "string")) {
        fail(`${input.name}: values must be an array of strings`);
      }
      if (typeof input.allow_unknown !== "boolean") fail(`${input.name}: allow_unknown must be a boolean`);
    } else if (input.kind === "numeric") {
      if (input.type !== "float32") fail(`${input.name}: a numeric input must be type float32`);
      for (const bound of ["min", "max"] as const) {
        if (input[bound] !== null && typeof input[bound] !== "number") {
          fail(`${input.name}: ${bound} must be a number or null`);
        }
      }
      if (typeof input.nan_allowed !== "boolean") fail(`${input.name}: nan_allowed must be a boolean`);
      if (
        input.values !== undefined &&
        (!Array.isArray(input.values) || !input.values.every((v) => typeof v === "number"))
      ) {
        fail(`${input.name}: values must be an array of numbers`);
      }
    } else {
      fail(`${input.name}: kind must be categorical or numeric`);
    }
  }
  if (
    !Array.isArray(json.outputs) ||
    !json.outputs.some((o) => isObject(o) && o.name === "probabilities")
  ) {
    fail("outputs must include probabilities");
  }
  return json as unknown as ModelCard;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
