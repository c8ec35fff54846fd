#!/usr/bin/env bash
# The GPU job: everything a lent CUDA machine should measure, in one command, results as JSON files.
#
#   bash tools/gpu_job.sh OUT_DIR [--reduced]
#
# For a machine with CUDA, torch, timm, numpy, OpenCV and PyYAML but no package registry: the rest of the model
# library's dependencies travel as wheels in .whl/ (made here by tools/gpu_wheels.sh) and are installed into a
# private folder; the library runs from model/src (no install). Training data is a compact pack (PACK=...,
# default runs/pack_gpu.npz, from `mm-tracker-pack ... --max-mib 10`). Steps, each under its own time limit
# (11 minutes at most in all), each writing OUT_DIR/<step>.json or .log; OUT_DIR/steps.json lists every step's
# exit status, limit and seconds:
#   cuda_tests       tests/model/test_cuda.py (CUDA against CPU numerics, bf16)
#   bench_<prec>     mm-tracker-bench, full_base, fp32 and bf16, engine only
#   per_frame        the node's per-frame path (offline evaluation = StreamTracker) on a generated sequence
#   train            a short training run from the pack
# --reduced: the same steps on the CPU with full_tiny, a few frames and a tiny pack built on the spot; this is
# what `make test` runs (tests/tools/test_gpu_job.py), so the job is known to work before a GPU is lent.
set -uo pipefail

OUT=${1:?usage: bash tools/gpu_job.sh OUT_DIR [--reduced]}
MODE=${2:-full}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$REPO"

WHEELS=${WHEELS:-.whl}  # an empty or missing folder: the dependencies are already installed (as here)
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" "$WHEELS"/*.whl \
    || { echo "error: installing the carried wheels failed" >&2; exit 1; }
  export PYTHONPATH="$WORK/site"
fi
export PYTHONPATH="$REPO/model/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [[ $MODE == --reduced ]]; then
  DEVICE=cpu PRESET=full_tiny FRAMES=3 SEQ_FRAMES=12 PRECS=fp32 SAMPLES=4 BATCH=2
  LIMIT_TESTS=120 LIMIT_BENCH=90 LIMIT_FRAME=120 LIMIT_TRAIN=180
  PACK="$WORK/pack.npz"
else
  DEVICE=cuda PRESET=full_base FRAMES=300 SEQ_FRAMES=200 PRECS="fp32 bf16" SAMPLES=4096 BATCH=32
  LIMIT_TESTS=120 LIMIT_BENCH=90 LIMIT_FRAME=120 LIMIT_TRAIN=240  # 660 s at most
  PACK=${PACK:-runs/pack_gpu.npz}  # mm-tracker-pack --max-mib 10 (beside the tree and .whl/ in 64 MiB)
fi

STEPS=()
step() {  # step NAME LIMIT_S COMMAND...: runs it, logs to OUT/NAME.log, records status and seconds
  local name=$1 limit=$2 start rc
  shift 2
  start=$(date +%s%N)
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  STEPS+=("{\"step\": \"$name\", \"rc\": $rc, \"limit_s\": $limit, \"seconds\": $((($(date +%s%N) - start) / 1000000))e-3}")
  echo "$name: exit $rc"
}

"$PY" - <<EOF >"$OUT/environment.json"
import json, platform, torch
print(json.dumps({"python": platform.python_version(), "torch": torch.__version__,
                  "cuda": torch.cuda.is_available(),
                  "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}, indent=2))
EOF

step cuda_tests $LIMIT_TESTS "$PY" -m pytest -q -p no:cacheprovider tests/model/test_cuda.py \
  --junitxml="$OUT/cuda_tests.xml"

for prec in $PRECS; do
  step "bench_$prec" $LIMIT_BENCH bash -c "'$PY' -m mm_tracker_model.cli.bench --preset $PRESET \
    --device $DEVICE --precision $prec --frames $FRAMES --json > '$OUT/bench_$prec.json'"
done

# The per-frame path with a randomly initialised net of the preset (latency does not depend on the weights).
step per_frame $LIMIT_FRAME bash -c "
  '$PY' -m mm_tracker_model.cli.synth --modality thermal --out '$WORK/synth' --sequences 1 \
    --frames $SEQ_FRAMES --seed 5 &&
  '$PY' -c 'import sys, torch; from mm_tracker_model.nn.tracker_net import build_net; \
from mm_tracker_model.io.checkpoint import save_checkpoint; torch.manual_seed(0); \
save_checkpoint(sys.argv[1], build_net(sys.argv[2]), {\"made_by\": \"tools/gpu_job.sh\"})' '$WORK/net.pt' $PRESET &&
  '$PY' -m mm_tracker_model.cli.eval --dataset '$WORK/synth' --format synthetic --checkpoint '$WORK/net.pt' \
    --device $DEVICE --no-video --quiet --out '$WORK/eval' --json '$OUT/per_frame.json'"

cat >"$WORK/train.yaml" <<EOF
preset: $PRESET
phase: alignment
training_mode: full
packs: [$PACK]
samples_per_epoch: $SAMPLES
validation_samples: $BATCH
epochs: 1
batch_size: $BATCH
out: $WORK/train
EOF
if [[ $MODE == --reduced ]]; then  # a tiny pack from a generated sequence, as mm-tracker-pack makes any pack
  step pack 120 bash -c "
    '$PY' -m mm_tracker_model.cli.synth --modality thermal --out '$WORK/packsrc' --sequences 1 --frames 10 --seed 6 &&
    printf 'preset: $PRESET\nsynthetic: [$WORK/packsrc]\n' > '$WORK/packsrc.yaml' &&
    '$PY' -m mm_tracker_model.cli.pack --config '$WORK/packsrc.yaml' --out '$PACK' --entries 6"
fi
step train $LIMIT_TRAIN bash -c "'$PY' -m mm_tracker_model.cli.train --config '$WORK/train.yaml' \
  --no-progress && cp '$WORK/train.yaml' '$OUT/train_config.yaml'"

printf '%s\n' "${STEPS[@]}" | "$PY" -c '
import json, sys
steps = [json.loads(line) for line in sys.stdin]
print(json.dumps(steps, indent=2))
sys.exit(1 if any(s["rc"] for s in steps) else 0)' >"$OUT/steps.json"
rc=$?
echo "results: $OUT (steps.json: $([[ $rc == 0 ]] && echo "every step passed" || echo "a step failed"))"
exit $rc
