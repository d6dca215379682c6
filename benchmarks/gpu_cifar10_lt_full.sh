#!/usr/bin/env bash
# The paper's full CIFAR-10-LT IF 100 schedule on one GPU, as one prepared command.
#
# ResNet-32 + CausalNormHead, 200 epochs, batch 256, lr 0.2, 5-epoch warm-up from lr/3,
# x0.01 at epochs 120 and 160 (configs/cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100.py),
# then the same checkpoint scored with TDE off (alpha = 0), at the paper's alpha = 1.0 and at the
# alpha picked on the held-out training split (benchmarks/cifar10_lt_accuracy.py --full). With
# RUN_CE=1 the linear-CE baseline trains beside it on the same GPU. Measured on an H200
# (2026-11-28): with RUN_CE=1 and 6 workers each, both runs took ~6.2 s an epoch (~125 ms an
# iteration of 256 images, GPU nearly idle): 200 epochs need ~21 min, far over one device call.
# Two processes time-slice one GPU and oversubscribe the 16 cores (two mains with 16 OpenMP
# threads each + 12 workers), hence RUN_CE=0 and a capped thread count by default. Since that
# run two per-iteration costs are gone: the update of d no longer waits for the GPU, and batches
# arrive stacked (one copy and one normalisation, not 256). Whether that brings an epoch to the
# ~2 s that 200 epochs in ~7 minutes of training need is not measured.
#
# Made for a machine that has Python 3 with torch/torchvision but no OpenMMLab and no network:
#   .whl/      pure-Python wheels: mmengine, mmpretrain, mmcv-lite (mmcv 2.1.0 built with
#              MMCV_WITH_OPS=0) and their small dependencies missing there (see benchmarks/README.md)
#   .devdata/  cifar10-jpeg.tar.gz (or cifar-10-batches-py/)
# Both are ignored by git and travel with the device tool's `carry`. Anywhere else, install the
# requirements, point DATA_DIR at CIFAR-10 and set WHEELS= (empty) to skip the wheel install.
#
# Environment: OUT (results folder, default ./work_dirs/gpu_out), DATA_DIR (.devdata),
#   WHEELS (.whl), TRAIN_BUDGET_MIN (stop training after the epoch that passes this many
#   minutes, default 6; the result names the epochs run), RUN_CE (0), WORKERS (6 per run),
#   OMP_NUM_THREADS (4),
#   PY (python3), SCHEDULE (--full; e.g. "--epochs 1" for a dry run), EXTRA (more arguments
#   of cifar10_lt_accuracy.py).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/work_dirs/gpu_out}
DATA_DIR=${DATA_DIR:-.devdata}
WHEELS=${WHEELS-.whl}
TRAIN_BUDGET_MIN=${TRAIN_BUDGET_MIN:-6}
RUN_CE=${RUN_CE:-0}
WORKERS=${WORKERS:-6}
PY=${PY:-python3}
SCHEDULE=${SCHEDULE:---full}
EXTRA=${EXTRA:-}
WORK=${WORK:-/tmp/mmtde_gpu_bench}
mkdir -p "$OUT" "$WORK"
START=$(date +%s)
stamp() { echo "[gpu-bench +$(( $(date +%s) - START ))s] $*"; }

if [ -n "$WHEELS" ]; then
  stamp "installing wheels from $WHEELS"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHEELS"/*.whl || { echo "wheel install failed"; exit 3; }
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}  # the main process only launches kernels
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
  | tee "$OUT/gpu.txt"
"$PY" - <<'EOF' || exit 4
import torch, mmengine, mmcv, mmpretrain
print('python packages: torch', torch.__version__, 'cuda', torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else '-', '| mmengine',
      mmengine.__version__, '| mmcv', mmcv.__version__, '| mmpretrain', mmpretrain.__version__)
EOF

stamp "decoding CIFAR-10 once"
NPZ=$("$PY" -W ignore -c "import sys; sys.path.insert(0, 'benchmarks'); import cifar10_arrays as c; \
print(c.prepare_cifar10('$DATA_DIR', '$WORK/cache'))" | tail -1) || exit 5
[ -f "$NPZ" ] || { echo "no CIFAR-10 under $DATA_DIR"; exit 5; }

BENCH=("$PY" benchmarks/cifar10_lt_accuracy.py $SCHEDULE --data-dir "$(dirname "$NPZ")"
       --work-dir "$WORK" --imbalance-factors 100 --num-workers "$WORKERS" $EXTRA)
stamp "training (budget ${TRAIN_BUDGET_MIN} min each, in parallel: causal norm, CE=$RUN_CE)"
"${BENCH[@]}" --methods causalnorm --time-budget-min "$TRAIN_BUDGET_MIN" > "$OUT/log_causalnorm.txt" 2>&1 &
CN=$!
if [ "$RUN_CE" = 1 ]; then
  "${BENCH[@]}" --methods ce --time-budget-min "$TRAIN_BUDGET_MIN" > "$OUT/log_ce.txt" 2>&1 &
  CE=$!
fi
wait $CN; RC=$?
[ "$RUN_CE" = 1 ] && wait $CE
stamp "training done (causal norm rc=$RC)"
grep -hE "Epoch\(train\) +\[(1|5|50|100|120|150|160|200)\]\[[0-9]+/|time budget|Traceback|Error:" \
  "$OUT"/log_*.txt | cut -c1-200 | tail -24

# Score both checkpoints together from their cached features (no training: --resume).
METHODS=causalnorm
[ -f "$WORK/if100_ce/eval_cache.pth" ] && METHODS="ce causalnorm"
"${BENCH[@]}" --methods $METHODS --resume > "$OUT/log_merge.txt" 2>&1
cat "$OUT/log_merge.txt" | grep -v "^\[data\]"
cp "$WORK/results.json" "$WORK/results.md" "$OUT/" 2>/dev/null
cp "$WORK/cifar10lt_per_class_if100.png" "$WORK/cifar10lt_alpha_sweep.png" "$OUT/" 2>/dev/null
stamp "done"
exit $RC
