"""Train the churn model and export it as one ONNX graph plus a model card.

Run through `deno task train` (models/train/train.sh), which owns the venv.
Writes models/churn.onnx, models/churn.model.json and
tests/fixtures/golden_scores.json. Everything is seeded so that the same data
and the same pins give the same model bytes; test_parity.py imports the
helpers below to rebuild the exact pipeline instead of unpickling one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "telco-customer-churn.csv"
MODEL_PATH = REPO / "models" / "churn.onnx"
CARD_PATH = REPO / "models" / "churn.model.json"
GOLDEN_PATH = REPO / "tests" / "fixtures" / "golden_scores.json"

SEED = 42
TEST_SIZE = 0.2
FOLDS = 5
GOLDEN_ROWS = 200
PARITY_TOL = 1e-4
# ONNX opsets that onnxruntime 1.20 (the version onnxruntime-node ships) runs.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}

ID_COLUMN = "customerID"
LABEL_COLUMN = "Churn"
POSITIVE = "Yes"
NUMERIC = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]
# Graph inputs, in CSV column order (the stream's record shape).
INPUTS = [
    "gender",
    "SeniorCitizen",
    "Partner",
    "Dependents",
    "tenure",
    "PhoneService",
    "MultipleLines",
    "InternetService",
    "OnlineSecurity",
    "OnlineBackup",
    "DeviceProtection",
    "TechSupport",
    "StreamingTV",
    "StreamingMovies",
    "Contract",
    "PaperlessBilling",
    "PaymentMethod",
    "MonthlyCharges",
    "TotalCharges",
]
CATEGORICAL = [c for c in INPUTS if c not in NUMERIC]
# Only TotalCharges is legitimately blank (tenure-0 customers); the imputer in
# the graph fills it. Any other missing number is a broken record.
NAN_ALLOWED = {"TotalCharges"}
# Enforced validity ranges: physical limits, not the observed range, so a
# customer with 73 months of tenure is still scored (observed ranges go in
# the card for drift checks).
VALID_RANGE = {
    "SeniorCitizen": (0, 1),
    "tenure": (0, None),
    "MonthlyCharges": (0, None),
    "TotalCharges": (0, None),
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_data(path: Path) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Read the CSV and clean it the way the stream carries records.

    Numbers become float64, the blank TotalCharges becomes NaN (imputed inside
    the graph), SeniorCitizen stays numeric 0/1, everything else is a string.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in [ID_COLUMN, LABEL_COLUMN, *INPUTS] if c not in raw.columns]
    if missing:
        raise SystemExit(f"train: {path} lacks columns: {', '.join(missing)}")
    X = pd.DataFrame(index=raw.index)
    for c in INPUTS:
        if c in NUMERIC:
            X[c] = pd.to_numeric(raw[c].str.strip().replace("", np.nan), errors="raise").astype(
                np.float64
            )
        else:
            X[c] = raw[c].astype(object)
    y = (raw[LABEL_COLUMN] == POSITIVE).astype(np.int64)
    return X, y, raw[ID_COLUMN]


def split(X: pd.DataFrame, y: pd.Series, ids: pd.Series, seed: int = SEED):
    return train_test_split(X, y, ids, test_size=TEST_SIZE, stratify=y, random_state=seed)


def preprocessor() -> ColumnTransformer:
    numeric = Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    )
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    return ColumnTransformer(
        [("num", numeric, NUMERIC), ("cat", categorical, CATEGORICAL)],
        sparse_threshold=0.0,
    )


def candidates(seed: int = SEED) -> dict[str, Pipeline]:
    """The models compared by cross-validation; all convert with skl2onnx."""
    return {
        "logistic_regression": Pipeline(
            [
                ("prep", preprocessor()),
                ("clf", LogisticRegression(C=1.0, max_iter=5000, solver="lbfgs")),
            ]
        ),
        "hist_gradient_boosting": Pipeline(
            [
                ("prep", preprocessor()),
                (
                    "clf",
                    HistGradientBoostingClassifier(
                        learning_rate=0.05,
                        max_iter=200,
                        max_leaf_nodes=15,
                        min_samples_leaf=40,
                        l2_regularization=1.0,
                        early_stopping=False,
                        random_state=seed,
                    ),
                ),
            ]
        ),
        "gradient_boosting": Pipeline(
            [
                ("prep", preprocessor()),
                (
                    "clf",
                    GradientBoostingClassifier(
                        n_estimators=200,
                        learning_rate=0.05,
                        max_depth=3,
                        subsample=0.8,
                        random_state=seed,
                    ),
                ),
            ]
        ),
    }


def to_onnx(pipe: Pipeline) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial_types = [
        (c, FloatTensorType([None, 1]) if c in NUMERIC else StringTensorType([None, 1]))
        for c in INPUTS
    ]
    onx = convert_sklearn(
        pipe,
        name="churn",
        initial_types=initial_types,
        target_opset=TARGET_OPSET,
        options={id(pipe.steps[-1][1]): {"zipmap": False}},
    )
    onx.doc_string = ""
    # skl2onnx collects opsets in a set, so their order follows the string
    # hash seed; sort them or the bytes (and the version) change per run.
    opsets = sorted(((o.domain, o.version) for o in onx.opset_import))
    del onx.opset_import[:]
    for domain, version in opsets:
        onx.opset_import.add(domain=domain, version=version)
    return onx.SerializeToString()


def graph_opsets(model_bytes: bytes) -> dict[str, int]:
    import onnx

    m = onnx.load_from_string(model_bytes)
    return {o.domain or "ai.onnx": o.version for o in m.opset_import}


def onnx_feeds(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Column tensors as the TS scorer builds them: strings and float32, [N,1]."""
    feeds = {}
    for c in INPUTS:
        col = X[c].to_numpy()
        if c in NUMERIC:
            feeds[c] = col.astype(np.float32).reshape(-1, 1)
        else:
            feeds[c] = col.astype(str).astype(object).reshape(-1, 1)
    return feeds


THRESHOLD_REASON = {
    "f1": "churners are the minority (26.5 %); accuracy rewards predicting 'No' for "
    "almost everyone, while F1 balances catching churners (recall) against wasted "
    "retention offers (precision)",
    "accuracy": "the fewest wrong predictions overall, at the cost of missing more "
    "churners than the F1 threshold",
}


def parity_diff(pipe: Pipeline, model_bytes: bytes, X: pd.DataFrame) -> float:
    """Max |p_onnx - p_sklearn| over the rows of X (positive class)."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    p_onnx = sess.run(["probabilities"], onnx_feeds(X))[0][:, 1]
    return float(np.max(np.abs(p_onnx - pipe.predict_proba(X)[:, 1])))


def best_threshold(y: np.ndarray, p: np.ndarray, metric) -> tuple[float, float]:
    # A fixed 0.01 grid instead of every distinct score: the chosen value is a
    # round number and does not move with float noise in the last digits.
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = [metric(y, (p >= t).astype(int)) for t in grid]
    i = int(np.argmax(scores))
    return float(grid[i]), float(scores[i])


def metrics_at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    pred = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {
        "threshold": threshold,
        "roc_auc": r4(roc_auc_score(y, p)),
        "pr_auc": r4(average_precision_score(y, p)),
        "accuracy": r4(accuracy_score(y, pred)),
        "f1": r4(f1_score(y, pred)),
        "precision": r4(precision_score(y, pred, zero_division=0)),
        "recall": r4(recall_score(y, pred)),
        "brier": r4(brier_score_loss(y, p)),
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def r4(x: float) -> float:
    return round(float(x), 4)


def library_versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import scipy
    import skl2onnx

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": scipy.__version__,
    }


def input_specs(X: pd.DataFrame) -> list[dict]:
    specs = []
    for c in INPUTS:
        if c in NUMERIC:
            lo, hi = VALID_RANGE[c]
            col = X[c].dropna()
            spec = {
                "name": c,
                "kind": "numeric",
                "type": "float32",
                "shape": [None, 1],
                "min": lo,
                "max": hi,
                "nan_allowed": c in NAN_ALLOWED,
                "observed": {"min": float(col.min()), "max": float(col.max())},
            }
            if c == "SeniorCitizen":
                spec["values"] = [0, 1]
        else:
            spec = {
                "name": c,
                "kind": "categorical",
                "type": "string",
                "shape": [None, 1],
                "values": sorted(X[c].unique().tolist()),
                # The graph ignores unseen categories (all-zero one-hot), but a
                # typo like "yes" would then be scored silently; the scorer
                # rejects them unless this is flipped.
                "allow_unknown": False,
                "nan_allowed": False,
            }
        specs.append(spec)
    return specs


def golden_rows(
    pipe: Pipeline, X_test: pd.DataFrame, ids_test: pd.Series, n: int, seed: int
) -> list[dict]:
    # Every blank-TotalCharges row first (the NaN path is the one most likely
    # to drift between runtimes), then a seeded sample of the rest.
    blank = X_test.index[X_test["TotalCharges"].isna()].tolist()
    rest = [i for i in X_test.index if i not in set(blank)]
    rng = np.random.RandomState(seed)
    picked = blank + rng.choice(rest, size=n - len(blank), replace=False).tolist()
    sub = X_test.loc[picked]
    probs = pipe.predict_proba(sub)[:, 1]
    rows = []
    for idx, p in zip(picked, probs):
        rec = {"customerID": str(ids_test.loc[idx])}
        for c in INPUTS:
            v = X_test.at[idx, c]
            if c in NUMERIC:
                if np.isnan(v):
                    rec[c] = None
                elif c in ("SeniorCitizen", "tenure"):
                    rec[c] = int(v)
                else:
                    rec[c] = float(v)
            else:
                rec[c] = str(v)
        rows.append({"record": rec, "churn_probability": float(p)})
    return rows


def created_time(version: str) -> str:
    """Keep `created` stable for an unchanged model so a rerun is byte-identical.

    SOURCE_DATE_EPOCH (the reproducible-builds convention) wins; otherwise a
    card that already describes these exact model bytes keeps its time.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        old = json.loads(CARD_PATH.read_text())
        if old.get("version") == version and old.get("created"):
            return old["created"]
    except (OSError, ValueError):
        pass
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="training CSV")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument(
        "--threshold-metric",
        choices=["f1", "accuracy"],
        # Accuracy by default: the pipeline this replaces was judged by it (about 80 %),
        # and the acceptance asks for >= 0.80. F1 (--threshold-metric f1) flags
        # more churners (recall 0.73 vs 0.56) at the cost of accuracy (0.79).
        default="accuracy",
        help="what the decision threshold maximises on out-of-fold predictions",
    )
    args = ap.parse_args(argv)

    data_path: Path = args.data
    if not data_path.is_file():
        print(f"train: data file not found: {data_path}", file=sys.stderr)
        return 1
    X, y, ids = load_data(data_path)
    X_tr, X_te, y_tr, y_te, ids_tr, ids_te = split(X, y, ids, args.seed)
    print(f"train: {len(X)} rows ({int(y.sum())} churned), train {len(X_tr)} / test {len(X_te)}")

    import onnxruntime as ort

    cv = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=args.seed)
    cv_results: dict[str, dict] = {}
    oof: dict[str, np.ndarray] = {}
    fitted: dict[str, tuple[Pipeline, bytes]] = {}
    for name, pipe in candidates(args.seed).items():
        # One set of out-of-fold predictions serves both the per-fold AUCs
        # (model selection) and the threshold choice.
        p = cross_val_predict(pipe, X_tr, y_tr, cv=cv, method="predict_proba")[:, 1]
        folds = [
            r4(roc_auc_score(y_tr.iloc[te], p[te])) for _, te in cv.split(X_tr, y_tr)
        ]
        # Parity gate, on the training split only: a model whose ONNX graph
        # scores differently from scikit-learn cannot ship, whatever its AUC.
        # Tree ensembles trip on float32 rounding at split thresholds that
        # sit between adjacent float32 values.
        pipe.fit(X_tr, y_tr)
        model_bytes = to_onnx(pipe)
        diff = parity_diff(pipe, model_bytes, X_tr)
        cv_results[name] = {
            "roc_auc_mean": r4(np.mean(folds)),
            "roc_auc_std": r4(np.std(folds)),
            "roc_auc_folds": folds,
            "onnx_max_abs_diff_train": float(f"{diff:.3g}"),
            "eligible": bool(diff <= PARITY_TOL),
        }
        oof[name] = p
        fitted[name] = (pipe, model_bytes)
        print(
            f"train: cv {name:24s} ROC-AUC {np.mean(folds):.4f} ± {np.std(folds):.4f}"
            f"  onnx parity {diff:.1e}{'' if diff <= PARITY_TOL else ' (FAILS)'}"
        )

    eligible = [n for n in cv_results if cv_results[n]["eligible"]]
    if not eligible:
        print("train: no candidate passes ONNX parity", file=sys.stderr)
        return 1
    by_auc = sorted(cv_results, key=lambda n: cv_results[n]["roc_auc_mean"], reverse=True)
    winner = max(eligible, key=lambda n: cv_results[n]["roc_auc_mean"])
    runner_up = next(n for n in by_auc if n != winner)
    margin = r4(cv_results[winner]["roc_auc_mean"] - cv_results[runner_up]["roc_auc_mean"])
    best_cv = by_auc[0]
    if args.threshold_metric == "accuracy":
        threshold, oof_score = best_threshold(y_tr.to_numpy(), oof[winner], accuracy_score)
    else:
        threshold, oof_score = best_threshold(y_tr.to_numpy(), oof[winner], f1_score)
    note = (
        f"{best_cv} had the best CV ROC-AUC but fails ONNX parity; "
        if best_cv != winner
        else ""
    )
    print(
        f"train: winner {winner} ({note}{margin:+.4f} ROC-AUC vs {runner_up}); "
        f"threshold {threshold} (best OOF {args.threshold_metric})"
    )

    # The candidate loop already refit every model on the full training split.
    pipe, model_bytes = fitted[winner]
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    p_onnx = sess.run(["probabilities"], onnx_feeds(X_te))[0][:, 1]
    p_skl = pipe.predict_proba(X_te)[:, 1]
    test_diff = float(np.max(np.abs(p_onnx - p_skl)))

    full_sha = hashlib.sha256(model_bytes).hexdigest()
    version = f"sha256:{full_sha[:12]}"
    y_te_np = y_te.to_numpy()
    card = {
        "schema": "churnctl/model-card@1",
        "name": "telco-churn",
        "version": version,
        "onnx_sha256": full_sha,
        "created": created_time(version),
        "libraries": library_versions(),
        "opset": graph_opsets(model_bytes),
        "training_data": {
            "file": data_path.name,
            "sha256": sha256_file(data_path),
            "rows": int(len(X)),
            "positives": int(y.sum()),
            "blank_total_charges": int(X["TotalCharges"].isna().sum()),
        },
        "split": {
            "method": "stratified train_test_split",
            "seed": args.seed,
            "test_size": TEST_SIZE,
            "train_rows": int(len(X_tr)),
            "test_rows": int(len(X_te)),
        },
        "inputs": input_specs(X),
        "outputs": [
            {"name": "label", "type": "int64", "shape": [None]},
            {
                "name": "probabilities",
                "type": "float32",
                "shape": [None, 2],
                "classes": ["No", "Yes"],
            },
        ],
        "positive_class": POSITIVE,
        "threshold": {
            "value": threshold,
            "metric": args.threshold_metric,
            "method": f"maximum {args.threshold_metric} over a 0.01 grid on {FOLDS}-fold "
            "out-of-fold predictions of the training split (the test split is never used)",
            "reason": THRESHOLD_REASON[args.threshold_metric],
            "oof_score": r4(oof_score),
        },
        "selection": {
            "metric": "roc_auc",
            "cv": f"StratifiedKFold(n_splits={FOLDS}, shuffle=True, random_state={args.seed})",
            "candidates": cv_results,
            "rule": "highest mean ROC-AUC among candidates whose ONNX graph matches "
            f"scikit-learn within {PARITY_TOL:g} on the training split",
            "best_cv": best_cv,
            "winner": winner,
            "runner_up": runner_up,
            "margin": margin,
            "note": note.rstrip("; ") or f"{winner} had the best CV ROC-AUC",
        },
        "model": {
            "estimator": type(pipe.steps[-1][1]).__name__,
            "params": {
                k: v
                for k, v in pipe.steps[-1][1].get_params().items()
                if isinstance(v, (int, float, str, bool)) or v is None
            },
            "preprocessing": "numeric: median imputer + standard scaler; "
            "categorical: one-hot (handle_unknown=ignore)",
        },
        "metrics": {
            "test": metrics_at(y_te_np, p_skl, threshold),
            "test_at_0_5": metrics_at(y_te_np, p_skl, 0.5),
            "onnx_vs_sklearn_max_abs_diff_test": float(f"{test_diff:.3g}"),
        },
    }

    MODEL_PATH.write_bytes(model_bytes)
    write_json(CARD_PATH, card)
    golden = {
        "model_version": version,
        "threshold": threshold,
        "tolerance": 1e-4,
        "note": "scikit-learn probabilities of the positive class (Churn=Yes) for "
        "records in the stream's shape; regenerated by `deno task train`",
        "rows": golden_rows(pipe, X_te, ids_te, GOLDEN_ROWS, args.seed),
    }
    write_json(GOLDEN_PATH, golden)

    t = card["metrics"]["test"]
    print(
        f"train: test ROC-AUC {t['roc_auc']:.4f} PR-AUC {t['pr_auc']:.4f} "
        f"accuracy {t['accuracy']:.4f} F1 {t['f1']:.4f} Brier {t['brier']:.4f} "
        f"(accuracy at 0.5: {card['metrics']['test_at_0_5']['accuracy']:.4f})"
    )
    print(f"train: onnx vs sklearn max |diff| on test split {test_diff:.2e}")
    print(f"train: wrote {MODEL_PATH.relative_to(REPO)} ({version}), "
          f"{CARD_PATH.relative_to(REPO)}, {GOLDEN_PATH.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
