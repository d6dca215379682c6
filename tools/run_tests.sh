#!/usr/bin/env bash
# Sets up the environment (tools/setup_env.sh: venv, torch, mmcv with ops, OpenMMLab stack,
# mmtde) if needed, then runs the test suite. Extra arguments go to pytest; with test paths
# among them only those run.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup_env.sh"
VENV="${MMTDE_VENV:-$REPO/.venv}"
cd "$REPO"
# Test paths given (e.g. tests/test_engine) run alone; otherwise the whole suite.
TARGET=(tests)
for arg in "$@"; do
  if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then TARGET=(); break; fi
done
echo "[mmtde] running: $VENV/bin/python -m pytest ${TARGET[*]:-} $*"
exec "$VENV/bin/python" -m pytest ${TARGET[@]+"${TARGET[@]}"} "$@"
