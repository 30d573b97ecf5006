#!/usr/bin/env bash
# Trains the churn model: models/churn.onnx + models/churn.model.json.
# Usage: bash models/train/train.sh [--data PATH] [--seed N] [--threshold-metric f1|accuracy]
#        bash models/train/train.sh --parity   (install the pins, then run the parity test only)
# Creates models/train/.venv on first use and reinstalls the pins only when
# requirements.txt changed (a hash stamp inside the venv), so reruns are fast.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "train: creating $venv" >&2
  "$python" -m venv "$venv"
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
  echo "train: installing pinned requirements" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi

# `deno task` runs from the repo root; go back to where the user typed the
# command so a relative --data PATH means what they expect.
if [[ -n "${INIT_CWD:-}" && -d "${INIT_CWD}" ]]; then
  cd "$INIT_CWD"
fi

if [[ "${1:-}" == "--parity" ]]; then
  shift
  exec "$venv/bin/python" "$here/test_parity.py" "$@"
fi

exec "$venv/bin/python" "$here/train.py" "$@"
