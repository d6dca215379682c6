#!/usr/bin/env bash
# Sets up the environment (tools/setup_env.sh: venv, torch, mmcv with ops, OpenMMLab stack,
# mmtde) if needed, then runs the test suite. Extra arguments go to pytest; with test paths
# among them only those run.
#   MMTDE_TEST_WORKERS=N  pytest processes for the whole suite (default: auto, one a CPU core;
#                         0: one process). Test paths given run in one process unless -n is given.
#   MMTDE_SKIP_SETUP=1    skip tools/setup_env.sh (the environment is known to be up to date).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ "${MMTDE_SKIP_SETUP:-0}" != 1 ]; then
  bash "$REPO/tools/setup_env.sh"
fi
VENV="${MMTDE_VENV:-$REPO/.venv}"
cd "$REPO"
# Test paths given (e.g. tests/test_engine) run alone; otherwise the whole suite.
TARGET=(tests)
OWN_N=0  # the arguments say how many processes (-n, or -p no:xdist)
for arg in "$@"; do
  if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then TARGET=(); fi
  if [[ "$arg" == -n* || "$arg" == --numprocesses* || "$arg" == no:xdist ]]; then OWN_N=1; fi
done
N="${MMTDE_TEST_WORKERS:-auto}"
if [[ ! "$N" =~ ^(auto|[0-9]+)$ ]]; then
  echo "[mmtde] MMTDE_TEST_WORKERS=$N: use auto, 0 (one process) or a number of processes" >&2
  exit 2
fi
WORKERS=()
if [ ${#TARGET[@]} -gt 0 ] && [ "$OWN_N" = 0 ] && [ "$N" != 0 ]; then
  # one test file a process (module-scoped fixtures are built once); see tests/conftest.py
  # for the threads each process uses
  WORKERS=(-n "$N" --dist loadfile)
fi
CMD=("$VENV/bin/python" -m pytest ${TARGET[@]+"${TARGET[@]}"} ${WORKERS[@]+"${WORKERS[@]}"} "$@")
echo "[mmtde] running: ${CMD[*]}"
exec "${CMD[@]}"
