#!/usr/bin/env bash
# The paper's full CIFAR-10-LT IF 100 schedule (200 epochs) through the user's own tools, on a CPU
# or a GPU, resumable: the one entry point of the 200-epoch run.
#
#   DATA_ROOT=/path/to/data bash benchmarks/cifar10_lt_full.sh            # causal norm + TDE, CPU
#   METHOD=ce DATA_ROOT=/path/to/data bash benchmarks/cifar10_lt_full.sh  # linear-CE baseline
#   METHOD=ce-canonical DATA_ROOT=...  # Cao et al.'s CE recipe ("ERM", 70.36): the calibration
#   SEED=1 DATA_ROOT=...               # another training seed (work dir .../causalnorm_seed1)
#   bash benchmarks/cifar10_lt_full.sh --device cuda --precision fp32   # or DEVICE=, PRECISION=
#
# benchmarks/cifar10_lt_full_cpu.sh (DEVICE=cpu) and benchmarks/gpu_cifar10_lt_full.sh
# (DEVICE=cuda, an offline GPU machine) are aliases of this script.
#
# 1. tools/train.py on configs/cifar_lt/resnet32-<METHOD>_1xb256-200e_cifar10-lt-if100.py (or
#    CONFIG), the config's own schedule (200 epochs, batch 256, lr 0.2, 5-epoch warm-up, x0.01 at
#    120 and 160; ce-canonical: batch 128, lr 0.1, x0.01 at 160 and 180) and training seed (SEED
#    replaces it), with 50 training images a class held out (heldout_per_class on every split, so
#    alpha and the post-hoc taus are picked without the test set) and bfloat16 autocast
#    (BF16OptimWrapper; PRECISION=fp32 for float32). The configs validate on the test set every
#    10 epochs, then every epoch from the first lr step on. Interrupted, the same command resumes
#    from the last epoch's checkpoint (tools/train.py --resume), with the checkpoint's seed.
# 1b. benchmarks/cifar10_lt_epochs.py: results.json / results.md in the work dir, the last
#    epoch's test top-1 (what is tested and published below) beside the best epoch's (the
#    authors' selection), both from the training log.
# 2. tools/analysis/tde_alpha_sweep.py on the last checkpoint: the alpha sweep on the held-out
#    split (TDE off, paper alpha, held-out alpha, authors' rule), post-hoc logit adjustment and
#    tau-norm picked there and scored on the balanced test set (--posthoc), then the shifted test
#    sets of LADE's / SADE's protocol (--test-priors all).
# 3. tools/test.py on that checkpoint at the paper's alpha (causal norm) or as is (CE): the row a
#    user reproduces from the published file.
# 4. tools/publish_model.py: the checkpoint without optimizer state, named with its sha256.
#
# Environment (or --device / --precision): DEVICE (cpu | cuda; cpu hides any GPU), PRECISION
# (bf16 | fp32), DATA_ROOT (DATA_DIR is an alias; default $MMTDE_DATA_DIR: the official
# cifar-10-batches-py/, the JPEG copy or its tarball), METHOD (causalnorm | ce | ce-canonical),
# CONFIG (another config instead of METHOD's), SEED (training seed, randomness.seed; default the
# config's),
# CHANNELS_LAST (default 1: train with tools/train.py --channels-last, NHWC batches, 1.15x faster
# steps in bfloat16 and ~1.2x in float32 on the CPUs measured; 0: the config's NCHW), WORK (work
# dir, default work_dirs/cifar10_lt_full/<METHOD or CONFIG's stem>[_seed<SEED>][_fp32]; it holds
# one run: a checkpoint there of another seed stops the script instead of being resumed),
# WORKERS (dataloader workers; cpu default 0: the images are in memory and the pipeline costs
# ~30 ms a batch in the main process, while a worker process competes with the 2 training
# threads: 0.81-0.97 s a step with 1 worker, 0.56-0.68 s with none, measured on the BF16 EPYC;
# cuda default 6), HELDOUT (training images a class held out, 50), PY (python), EXTRA (more
# --cfg-options, e.g. "train_cfg.max_epochs=1" for a dry run), WHEELS (a folder of wheels to
# install first with pip --no-index, for a machine without OpenMMLab and network; default none),
# OUT (also copy results.json, results.md and the published checkpoint there).
set -euo pipefail
cd "$(dirname "$0")/.."
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE=$2; shift 2 ;;
    --precision) PRECISION=$2; shift 2 ;;
    *) echo "$1: the options are --device cpu|cuda and --precision bf16|fp32 (the rest are" \
            "variables, see the head of $0)" >&2; exit 2 ;;
  esac
done
DEVICE=${DEVICE:-cpu}
DATA_NAME=DATA_ROOT
[ -z "${DATA_ROOT:-}" ] && [ -n "${DATA_DIR:-}" ] && DATA_NAME=DATA_DIR
DATA_ROOT=${DATA_ROOT:-${DATA_DIR:-${MMTDE_DATA_DIR:-}}}
METHOD=${METHOD:-causalnorm}
CONFIG=${CONFIG:-}
SEED=${SEED:-}
PRECISION=${PRECISION:-bf16}
CHANNELS_LAST=${CHANNELS_LAST:-1}
case "$DEVICE" in
  cpu) WORKERS=${WORKERS:-0} ;;
  cuda) WORKERS=${WORKERS:-6} ;;
  *) echo "DEVICE=$DEVICE: use cpu or cuda" >&2; exit 2 ;;
esac
HELDOUT=${HELDOUT:-50}
PY=${PY:-python}
EXTRA=${EXTRA:-}
WHEELS=${WHEELS:-}
OUT=${OUT:-}
if [ -n "$CONFIG" ]; then
  [ -f "$CONFIG" ] || { echo "CONFIG=$CONFIG is not a file" >&2; exit 2; }
  CFG=$CONFIG
  METHOD=$(basename "$CONFIG" .py)
else
  case "$METHOD" in
    causalnorm) CFG=configs/cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100.py ;;
    ce) CFG=configs/cifar_lt/resnet32-ce_1xb256-200e_cifar10-lt-if100.py ;;
    ce-canonical) CFG=configs/cifar_lt/resnet32-ce_1xb128-ldam-erm-200e_cifar10-lt-if100.py ;;
    *) echo "METHOD=$METHOD: use causalnorm, ce or ce-canonical (or set CONFIG)" >&2; exit 2 ;;
  esac
fi
case "$SEED" in
  '') ;;
  *[!0-9]*) echo "SEED=$SEED: use a non-negative integer (or leave it unset: the config's)" >&2
            exit 2 ;;
esac
case "$PRECISION" in
  bf16) OPTIM=BF16OptimWrapper ;;
  fp32) OPTIM=OptimWrapper ;;
  *) echo "PRECISION=$PRECISION: use bf16 or fp32" >&2; exit 2 ;;
esac
case "$CHANNELS_LAST" in
  0) LAYOUT=() ;;
  1) LAYOUT=(--channels-last) ;;
  *) echo "CHANNELS_LAST=$CHANNELS_LAST: use 1 (NHWC batches) or 0" >&2; exit 2 ;;
esac
if [ -z "$DATA_ROOT" ] || [ ! -e "$DATA_ROOT" ]; then
  echo "$DATA_NAME='$DATA_ROOT' does not exist: set DATA_ROOT (or MMTDE_DATA_DIR) to the folder" \
       "that holds cifar-10-batches-py/, the JPEG copy train/ + test/ or cifar10-jpeg.tar.gz" >&2
  exit 2
fi
# another seed, precision or device never resumes (and so continues) the default run's checkpoints
WORK=${WORK:-work_dirs/cifar10_lt_full/$METHOD${SEED:+_seed$SEED}$([ "$PRECISION" = fp32 ] && echo _fp32)$([ "$DEVICE" = cuda ] && echo _cuda)}
NAME=$(basename "$CFG" .py)
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$WORK"
stamp() { echo "[cifar10-lt-full $(date -u +%H:%M:%S)] $*" | tee -a "$WORK/stages.log"; }
if [ -n "$WHEELS" ]; then  # an offline machine: pure-Python wheels carried beside the checkout
  stamp "installing the wheels in $WHEELS"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHEELS"/*.whl || { echo "wheel install failed" >&2; exit 3; }
  export PYTHONPATH=$PWD:/tmp/site
fi
if [ "$DEVICE" = cpu ]; then
  export CUDA_VISIBLE_DEVICES=''  # mmengine would take a GPU it sees
elif ! "$PY" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
  echo "DEVICE=cuda: torch sees no GPU here (DEVICE=cpu trains on the CPU)" >&2
  exit 2
fi

DATA=()
for split in train val test; do
  DATA+=("${split}_dataloader.dataset.data_root=$DATA_ROOT"
         "${split}_dataloader.dataset.heldout_per_class=$HELDOUT")
done
for split in train val; do
  DATA+=("${split}_dataloader.num_workers=$WORKERS"
         "${split}_dataloader.persistent_workers=$([ "$WORKERS" -gt 0 ] && echo True || echo False)")
done
# atomic_local: a run killed while saving leaves the previous checkpoint, never a truncated one
# shellcheck disable=SC2206
OPTS=("${DATA[@]}" optim_wrapper.type=$OPTIM default_hooks.checkpoint.max_keep_ckpts=3
      default_hooks.checkpoint.backend_args.backend=atomic_local ${SEED:+randomness.seed=$SEED} $EXTRA)

if [ -f "$WORK/last_checkpoint" ]; then  # resuming: only the seed this command asks for
  "$PY" - "$CFG" "$WORK" "$SEED" <<'PYEOF' || exit 2
import os.path as osp
import sys

import torch

from mmtde.utils import load_config

cfg, work, seed = sys.argv[1:]
want = int(seed) if seed else (load_config(cfg).get('randomness') or {}).get('seed')
with open(osp.join(work, 'last_checkpoint')) as f:
    ckpt = osp.join(work, osp.basename(f.read().strip()))
have = torch.load(ckpt, map_location='cpu', mmap=True, weights_only=False)['meta'].get('seed')
if want is not None and have != want:
    sys.exit(f'{ckpt} was trained with seed {have}, this run asks for {want}: resuming would '
             f'continue that run. Set another WORK, or SEED={have} to resume it.')
PYEOF
fi
stamp "train $METHOD ($DEVICE, $PRECISION, seed ${SEED:-of the config}) in $WORK (resumes from its last checkpoint)"
"$PY" tools/train.py "$CFG" --work-dir "$WORK" --resume "${LAYOUT[@]}" --cfg-options "${OPTS[@]}"
CKPT=$WORK/$(basename "$(cat "$WORK/last_checkpoint")")
stamp "trained: $CKPT"

DUMPED=$WORK/$NAME.py  # the config with the options, as mmengine dumped it
stamp "last epoch and best epoch (the authors' selection) from the training log"
"$PY" benchmarks/cifar10_lt_epochs.py --work-dir "$WORK" --config "$DUMPED" | tee -a "$WORK/stages.log"
stamp "alpha sweep on the held-out split, post-hoc corrections on the balanced test set"
"$PY" tools/analysis/tde_alpha_sweep.py "$DUMPED" "$CKPT" --split heldout --posthoc \
    --alphas $(seq 0 0.1 3) --out-dir "$WORK/sweep"
stamp "shifted test sets (forward50 ... uniform ... backward50)"
"$PY" tools/analysis/tde_alpha_sweep.py "$DUMPED" "$CKPT" --split heldout \
    --test-priors all --alphas $(seq 0 0.1 3) --out-dir "$WORK/sweep_test_priors"

stamp "tools/test.py on the last checkpoint"
"$PY" tools/test.py "$DUMPED" "$CKPT" --work-dir "$WORK/test"
if grep -q "type='CausalNormHead'" "$DUMPED"; then
  "$PY" tools/test.py "$DUMPED" "$CKPT" --work-dir "$WORK/test_alpha0" \
      --cfg-options model.head.alpha=0
fi

stamp "publish"
mkdir -p "$WORK/publish"
rm -f "$WORK/publish"/*.pth "$WORK/publish/SHA256SUMS"  # a rerun publishes its own last checkpoint
"$PY" tools/publish_model.py "$CKPT" "$WORK/publish/${NAME}.pth"
(cd "$WORK/publish" && sha256sum ./*.pth | tee SHA256SUMS)
if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  cp "$WORK/results.json" "$WORK/results.md" "$WORK/stages.log" "$WORK/publish"/* "$OUT/"
fi
stamp "done"
