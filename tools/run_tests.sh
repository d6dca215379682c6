#!/usr/bin/env bash
# Sets up the environment (tools/setup_env.sh: venv, torch, mmcv with ops, OpenMMLab stack,
# mmtde) if needed, then runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/tools/setup_env.sh"
VENV="${MMTDE_VENV:-$REPO/.venv}"
cd "$REPO"
echo "[mmtde] running the test suite: $VENV/bin/python -m pytest tests $*"
exec "$VENV/bin/python" -m pytest tests "$@"
