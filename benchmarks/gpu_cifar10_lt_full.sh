#!/usr/bin/env bash
# An alias kept for old commands: benchmarks/cifar10_lt_full.sh on one GPU (DEVICE=cuda) of a
# machine that has Python 3 with torch/torchvision but no OpenMMLab and no network:
#   .whl/      pure-Python wheels: mmengine, mmpretrain, mmcv-lite (mmcv 2.1.0 built with
#              MMCV_WITH_OPS=0) and their small dependencies missing there (see benchmarks/README.md)
#   .devdata/  cifar10-jpeg.tar.gz (or cifar-10-batches-py/)
# Both are ignored by git and travel with the device tool's `carry`. Anywhere else, install the
# requirements, point DATA_ROOT at CIFAR-10 and set WHEELS= (empty) to skip the wheel install.
#
# Environment: those of cifar10_lt_full.sh, with these defaults here: DATA_ROOT (.devdata),
# WHEELS (.whl), OUT (results copied there, ./work_dirs/gpu_out), PY (python3), OMP_NUM_THREADS
# (4: the main process only launches kernels). The 200 epochs run to the end (EXTRA=
# "train_cfg.max_epochs=N" for fewer); METHOD=ce trains the baseline.
cd "$(dirname "$0")/.." || exit 2
export DATA_ROOT=${DATA_ROOT:-${DATA_DIR:-.devdata}} WHEELS=${WHEELS-.whl} \
  OUT=${OUT:-$PWD/work_dirs/gpu_out} PY=${PY:-python3} OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
exec bash benchmarks/cifar10_lt_full.sh --device cuda "$@"
