#!/usr/bin/env bash
# Sets up the environment if needed, then runs the CIFAR-10-LT demo (tools/demo_cifar10_lt.py).
# Data: $MMTDE_DATA_DIR (see the demo's --help); a checkout next to a shared/data folder that
# holds cifar10-jpeg.tar.gz uses it. Extra arguments go to the demo.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup_env.sh"
VENV="${MMTDE_VENV:-$REPO/.venv}"
if [ -z "${MMTDE_DATA_DIR:-}" ] && [ -f "$REPO/../shared/data/cifar10-jpeg.tar.gz" ]; then
  export MMTDE_DATA_DIR="$REPO/../shared/data"
fi
cd "$REPO"
PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" exec "$VENV/bin/python" tools/demo_cifar10_lt.py "$@"
