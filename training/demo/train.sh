#!/usr/bin/env bash
# Trains the embedded demo model from scratch: `npm run train-demo` (about an hour on 2 cores).
#   1. builds the project, writes the training data with the engine's own renderer/tokenizer (~5 min);
#   2. trains with PyTorch (Debian: apt-get install python3-torch libopenblas0-openmp);
#   3. plots the loss curve and scores the result on the held-out split (`pixtral eval --task demo`).
# The checkpoint goes to models/pixtral-demo/, the curve, goldens and eval to training/demo/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${DEMO_DATA_DIR:-${TMPDIR:-/tmp}/pixtral-demo-data}"
ITEMS="${DEMO_ITEMS:-64000}"
PYTHON="${PYTHON:-/usr/bin/python3}"

"$PYTHON" -c 'import torch' 2>/dev/null || {
  echo "train-demo needs PyTorch: apt-get install python3-torch libopenblas0-openmp (or set PYTHON)" >&2
  exit 1
}
npx tsc -p tsconfig.json
node dist/src/devtools/demo/export-training-data.js "$DATA" models/pixtral-demo "$ITEMS"
"$PYTHON" training/demo/train.py --data "$DATA" --model models/pixtral-demo --results training/demo/results "$@"
node dist/src/devtools/demo/plot-loss.js training/demo/results/loss.json training/demo/results/loss.png
node bin/pixtral.js eval --task demo --model models/pixtral-demo --quant none,q8,q4 --plot training/demo/results/eval.png \
  | tee training/demo/results/eval.txt
