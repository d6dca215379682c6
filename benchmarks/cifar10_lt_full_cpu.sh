#!/usr/bin/env bash
# An alias kept for old commands: benchmarks/cifar10_lt_full.sh on the CPU (DEVICE=cpu), with
# the same variables (DATA_DIR, METHOD, SEED, PRECISION, WORK, ...; see that script).
exec bash "$(dirname "$0")/cifar10_lt_full.sh" --device cpu "$@"
