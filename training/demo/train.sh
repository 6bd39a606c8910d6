#!/usr/bin/env bash
# Trains the embedded demo model from scratch: `npm run train-demo` (about 105 min on a 2-core Xeon with AMX).
#   1. builds the project, writes the base training data with the engine's own renderer/tokenizer (~3 min);
#   2. trains with PyTorch (Debian: apt-get install python3-torch libopenblas0-openmp): 7500 steps (~51 min), with
#      throwaway heads that teach the vision encoder what each patch shows and where each shape's centre is;
#   3. writes the fine-tune data (the "shapes" questions added, position, shapes and count weighted up) and
#      fine-tunes the result for 4000 steps at a lower learning rate, with side losses that teach the vision
#      encoder which side of the other shape each shape lies on and which kind it is (~3 + 33 min), then polishes
#      it for 1000 steps on the same mix at a lower learning rate (~1 + 6 min), and ends with 1000 steps on a mix
#      that weights position up (the type the fine-tune leaves furthest from its target), at a lower rate still
#      (~1 + 6 min); every stage draws pictures of its own (src/demo/dataset.ts, TRAINING_STAGES);
#   4. plots the loss curves and scores the result on the held-out split (`pixtral eval --task demo`).
# The checkpoint goes to models/pixtral-demo/, the curve, goldens and eval to training/demo/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${DEMO_DATA_DIR:-${TMPDIR:-/tmp}/pixtral-demo-data}"
ITEMS="${DEMO_ITEMS:-64000}"
STAGE_ITEMS="${DEMO_STAGE_ITEMS:-16000}"  # the polish and the last stage: 1,000 steps of 16, each picture once
PYTHON="${PYTHON:-/usr/bin/python3}"
# glibc gives large freed buffers back to the kernel and maps fresh (page-faulting) ones for the next step's
# activations; keeping them in the heap makes a step ~5% faster.
export MALLOC_MMAP_THRESHOLD_=17179869184 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=268435456

"$PYTHON" -c 'import torch' 2>/dev/null || {
  echo "train-demo needs PyTorch: apt-get install python3-torch libopenblas0-openmp (or set PYTHON)" >&2
  exit 1
}
npx tsc -p tsconfig.json
node dist/src/devtools/demo/export-training-data.js "$DATA" models/pixtral-demo "$ITEMS" base
"$PYTHON" training/demo/train.py --data "$DATA" --model models/pixtral-demo --results training/demo/results --centre-weight 1.0 --steps 7500 "$@"
node dist/src/devtools/demo/plot-loss.js training/demo/results/loss.json training/demo/results/loss.png
# A later stage, from the checkpoint so far: pictures of its own, the side, centre and kind heads on, its loss curve.
later_stage() {
  local stage=$1 items=$2
  shift 2
  node dist/src/devtools/demo/export-training-data.js "$DATA-$stage" models/pixtral-demo "$items" "$stage"
  mkdir -p "training/demo/results/$stage"
  "$PYTHON" training/demo/train.py --data "$DATA-$stage" --model models/pixtral-demo \
    --results "training/demo/results/$stage" --init models/pixtral-demo \
    --patch-weight 1.0 --side-weight 1.0 --centre-weight 1.0 --kind-weight 1.0 "$@"
  node dist/src/devtools/demo/plot-loss.js "training/demo/results/$stage/loss.json" "training/demo/results/$stage/loss.png"
}
later_stage finetune "$ITEMS" --steps 4000 --lr 5e-4 --warmup 50 "$@"
later_stage polish "$STAGE_ITEMS" --steps 1000 --lr 1.5e-4 --warmup 20 --seed 4321 "$@"
later_stage reposition "$STAGE_ITEMS" --steps 1000 --lr 1e-4 --warmup 20 --seed 1357 "$@"
cp training/demo/results/reposition/trainer-goldens.json training/demo/results/trainer-goldens.json
node bin/pixtral.js eval --task demo --model models/pixtral-demo --quant none,q8,q4 --plot training/demo/results/eval.png \
  | tee training/demo/results/eval.txt
