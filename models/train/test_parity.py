"""Parity: the committed models/churn.onnx scores every row of the data like
the scikit-learn pipeline it came from (max |diff| <= 1e-4).

    models/train/.venv/bin/python models/train/test_parity.py [--data PATH]

The scikit-learn side is rebuilt from train.py with the card's winner, seed
and split instead of being unpickled: nothing ignored has to survive between
`deno task train` and this check, and a pickle would tie it to one sklearn
build. Exits 1 on any failure, 0 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train as T  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ONNX vs scikit-learn parity")
    ap.add_argument("--data", type=Path, default=T.DEFAULT_DATA)
    args = ap.parse_args(argv)

    failures: list[str] = []
    card = json.loads(T.CARD_PATH.read_text())
    model_bytes = T.MODEL_PATH.read_bytes()
    version = "sha256:" + hashlib.sha256(model_bytes).hexdigest()[:12]
    if version != card["version"]:
        failures.append(f"card version {card['version']} != onnx bytes {version}")

    data_sha = T.sha256_file(args.data)
    if data_sha != card["training_data"]["sha256"]:
        print(f"parity: note: {args.data} is not the training file of the card")

    X, y, ids = T.load_data(args.data)
    X_tr, _, y_tr, _, _, _ = T.split(X, y, ids, card["split"]["seed"])
    winner = card["selection"]["winner"]
    pipe = T.candidates(card["split"]["seed"])[winner].fit(X_tr, y_tr)

    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    got = [(i.name, i.type) for i in sess.get_inputs()]
    want = [
        (s["name"], "tensor(float)" if s["type"] == "float32" else "tensor(string)")
        for s in card["inputs"]
    ]
    if got != want:
        failures.append(f"graph inputs {got} != card inputs {want}")
    outputs = [o.name for o in sess.get_outputs()]
    if outputs != ["label", "probabilities"]:
        failures.append(f"graph outputs {outputs} != ['label', 'probabilities']")

    p_onnx = sess.run(["probabilities"], T.onnx_feeds(X))[0]
    p_skl = pipe.predict_proba(X)
    diff = float(np.max(np.abs(p_onnx - p_skl)))
    worst = int(np.argmax(np.abs(p_onnx[:, 1] - p_skl[:, 1])))
    print(
        f"parity: {len(X)} rows, max |onnx - sklearn| = {diff:.3e} "
        f"(worst row {ids.iloc[worst]}), tolerance {T.PARITY_TOL:g}"
    )
    if not diff <= T.PARITY_TOL:
        failures.append(f"max abs diff {diff:.3e} > {T.PARITY_TOL:g}")

    # The golden file feeds the Deno test; check it against the same sklearn
    # pipeline so a stale fixture fails here, with the Python story at hand.
    golden = json.loads(T.GOLDEN_PATH.read_text())
    if golden["model_version"] != card["version"]:
        failures.append(
            f"golden file is for {golden['model_version']}, card is {card['version']}"
        )
    recs = [r["record"] for r in golden["rows"]]
    gX = T.pd.DataFrame(
        {
            c: [np.nan if r[c] is None else r[c] for r in recs]
            for c in T.INPUTS
        }
    )
    for c in T.NUMERIC:
        gX[c] = gX[c].astype(np.float64)
    g_skl = pipe.predict_proba(gX)[:, 1]
    g_file = np.array([r["churn_probability"] for r in golden["rows"]])
    g_diff = float(np.max(np.abs(g_skl - g_file)))
    print(f"parity: golden {len(recs)} rows, max |file - sklearn| = {g_diff:.3e}")
    if not g_diff <= T.PARITY_TOL:
        failures.append(f"golden file drifts from sklearn by {g_diff:.3e}")

    # Same pins + same data should rebuild the committed bytes exactly; a
    # mismatch is reported but not fatal (another BLAS can move the last bit).
    if data_sha == card["training_data"]["sha256"]:
        rebuilt = T.to_onnx(pipe)
        same = rebuilt == model_bytes
        print(f"parity: retrained model bytes identical to committed: {same}")

    for f in failures:
        print(f"parity: FAIL {f}", file=sys.stderr)
    print(f"parity: {'FAIL' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
