#!/usr/bin/env bash
# One set-up path for mmtde: builds (or reuses) an isolated virtual environment with
# torch/torchvision, mmcv 2.1.0 with compiled ops, mmengine, mmdet 3.3.0, mmpretrain 1.2.0,
# lvis, openmim, mmtde itself, the test tools and the documentation tools. Safe to rerun:
# every step checks first.
#
# Environment knobs (all optional):
#   MMTDE_VENV         where the virtual environment lives     (default: <repo>/.venv)
#   MMTDE_PYTHON       interpreter used to create it            (default: python3.11, else python3)
#   MMTDE_CACHE        where built mmcv wheels are kept         (default: ${XDG_CACHE_HOME:-$HOME/.cache}/mmtde)
#   MMTDE_TORCH        torch requirement                        (default: torch==2.14.1)
#   MMTDE_TORCHVISION  torchvision requirement                  (default: torchvision==0.29.1)
#   MMTDE_CUDA_OPS     1 = build mmcv's CUDA ops, 0 = CPU ops   (default: 1 when nvidia-smi sees a GPU)
#   MAX_JOBS           parallel compile jobs for mmcv           (default: number of cores)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMTDE_VENV:-$REPO/.venv}"
CACHE="${MMTDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmtde}"
TORCH_REQ="${MMTDE_TORCH:-torch==2.14.1}"
TORCHVISION_REQ="${MMTDE_TORCHVISION:-torchvision==0.29.1}"
MMCV_VERSION=2.1.0
START=$SECONDS

say() { printf '[mmtde setup %4ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf '[mmtde setup] ERROR: %s\n' "$*" >&2; exit 1; }
trap 'die "step failed (line $LINENO): see the output above; fix it and rerun $0 (finished steps are skipped)"' ERR

# ---------------------------------------------------------------- 1. venv
if [ ! -x "$VENV/bin/python" ]; then
  PY="${MMTDE_PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
  [ -n "$PY" ] || die "no python3 found; install Python 3.11 or set MMTDE_PYTHON"
  "$PY" -c 'import sys; assert sys.version_info >= (3, 10)' 2>/dev/null \
    || die "$PY is $("$PY" -V 2>&1), but torch 2.14 needs Python >= 3.10; install Python 3.11 or set MMTDE_PYTHON"
  say "creating virtual environment $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
PYTHON="$VENV/bin/python"
PIP=("$PYTHON" -m pip --disable-pip-version-check)
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
  || die "$VENV uses Python < 3.10 (torch 2.14 needs >= 3.10); remove it or set MMTDE_VENV"
# The venv's tools first: torch's extension builder looks for ninja on PATH (without it the
# mmcv build falls back to a serial one that ignores MAX_JOBS).
export PATH="$VENV/bin:$PATH"

have() { "$PYTHON" - "$@" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, _, want = spec.partition('==')
    try:
        got = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if want and got.split('+')[0] != want:
        sys.exit(1)
PY
}

# ---------------------------------------------------------------- 2. build tools
# setuptools < 82 because mmcv's setup.py imports pkg_resources (removed in 82).
if ! "$PYTHON" -c 'import setuptools, sys, ninja, wheel; v=tuple(int(x) for x in setuptools.__version__.split(".")[:2]); sys.exit(not ((77,0) <= v < (82,0)))' 2>/dev/null; then
  say "installing build tools (setuptools>=77.0.3,<82, wheel, ninja)"
  "${PIP[@]}" install -q --upgrade pip 'setuptools>=77.0.3,<82' wheel ninja
fi

# ---------------------------------------------------------------- 3. torch
if ! have "${TORCH_REQ/==/==}" "${TORCHVISION_REQ}"; then
  say "installing $TORCH_REQ $TORCHVISION_REQ (a few GB; this is the slow download step)"
  "${PIP[@]}" install "$TORCH_REQ" "$TORCHVISION_REQ"
fi
TORCH_TAG=$("$PYTHON" -c 'import torch; print(torch.__version__.replace("+", "_"))')

if [ -z "${MMTDE_CUDA_OPS:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then MMTDE_CUDA_OPS=1; else MMTDE_CUDA_OPS=0; fi
fi
if [ "$MMTDE_CUDA_OPS" = 1 ]; then
  CUDA_TAG="cu$("$PYTHON" -c 'import torch; print((torch.version.cuda or "none").replace(".", ""))')"
  [ "$CUDA_TAG" != cunone ] || die "MMTDE_CUDA_OPS=1 but $TORCH_REQ is a CPU-only build; install a CUDA build of torch or set MMTDE_CUDA_OPS=0"
else
  CUDA_TAG=cpu
fi

# ---------------------------------------------------------------- 4. mmcv with ops
# With CUDA ops wanted, ops compiled without CUDA do not count (an earlier CPU build).
mmcv_ok() { "$PYTHON" - "$MMTDE_CUDA_OPS" >/dev/null 2>&1 <<'PY'
import sys
import mmcv, mmcv.ops
from mmcv.ops import nms, roi_align, get_compiling_cuda_version
assert sys.argv[1] != '1' or get_compiling_cuda_version() != 'not available'
PY
}
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_TAG-$CUDA_TAG-py$("$PYTHON" -c 'import sys; print("%d%d" % sys.version_info[:2])')"
if [ "$MMTDE_CUDA_OPS" = 1 ]; then
  # CUDA kernels are built for the GPUs of this machine unless TORCH_CUDA_ARCH_LIST says
  # otherwise: the cache key names them, so a wheel is never reused on another generation.
  ARCH="${TORCH_CUDA_ARCH_LIST:-$("$PYTHON" -c 'import torch; print("_".join(sorted({"%d%d" % torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())})))' 2>/dev/null || echo unknown)}"
  WHEEL_DIR="$WHEEL_DIR-sm${ARCH// /_}"
fi
if ! have "mmcv==$MMCV_VERSION" || ! mmcv_ok; then
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    say "no cached mmcv $MMCV_VERSION wheel for torch $TORCH_TAG ($CUDA_TAG) in $WHEEL_DIR: building it from the sdist"
    if [ "$MMTDE_CUDA_OPS" = 1 ]; then
      command -v nvcc >/dev/null 2>&1 || [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ] \
        || die "MMTDE_CUDA_OPS=1 needs the CUDA toolkit (nvcc) to build mmcv's CUDA ops; install it, set CUDA_HOME, or set MMTDE_CUDA_OPS=0 for CPU ops"
    fi
    BUILD=$(mktemp -d "${TMPDIR:-/tmp}/mmtde-mmcv.XXXXXX")
    "${PIP[@]}" download -q --no-deps --no-build-isolation --no-binary :all: -d "$BUILD" "mmcv==$MMCV_VERSION"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17.
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    grep -q -- '-std=c++20' "$SRC/setup.py" || die "could not switch mmcv's setup.py to -std=c++20"
    # What mmcv's setup.py compiles: csrc/pytorch/*.cpp and cpu/*.cpp, plus cuda/ with CUDA ops.
    NSRC=$(find "$SRC/mmcv/ops/csrc/pytorch" -maxdepth 1 -name '*.cpp' | wc -l)
    NSRC=$((NSRC + $(find "$SRC/mmcv/ops/csrc/pytorch/cpu" -name '*.cpp' | wc -l)))
    if [ "$MMTDE_CUDA_OPS" = 1 ]; then
      NSRC=$((NSRC + $(find "$SRC/mmcv/ops/csrc/pytorch/cuda" -name '*.cu' -o -name '*.cpp' | wc -l)))
    fi
    say "compiling mmcv ops ($NSRC sources, MAX_JOBS=${MAX_JOBS:-$(nproc)}; about 8 min on 2 idle CPU cores, longer on a busy machine); log: $BUILD/build.log"
    # Its own process group (job control on for this one launch), so that a failure of this
    # script stops pip and every compiler it started, not just the subshell.
    set -m
    ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=$MMTDE_CUDA_OPS MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        "${PIP[@]}" wheel -v --no-build-isolation --no-deps -w "$BUILD/dist" . >"$BUILD/build.log" 2>&1 ) </dev/null &
    BUILD_PID=$!
    set +m
    trap 'kill -- -"$BUILD_PID" 2>/dev/null; die "step failed (line $LINENO): see the output above; fix it and rerun $0 (finished steps are skipped)"' ERR
    trap 'kill -- -"$BUILD_PID" 2>/dev/null; exit 130' INT TERM HUP
    while kill -0 "$BUILD_PID" 2>/dev/null; do
      sleep 30
      # progress only: a build dir that does not exist yet must not stop the set-up
      NOBJ=$( (find "$SRC/build" -name '*.o' 2>/dev/null || true) | wc -l)
      kill -0 "$BUILD_PID" 2>/dev/null && say "still compiling mmcv ops: $NOBJ/$NSRC objects built"
    done
    if ! wait "$BUILD_PID"; then
      tail -n 40 "$BUILD/build.log" >&2
      die "mmcv build failed; the full log is $BUILD/build.log"
    fi
    trap - INT TERM HUP
    trap 'die "step failed (line $LINENO): see the output above; fix it and rerun $0 (finished steps are skipped)"' ERR
    # The debug symbols make _ext.so ~83 MB; stripped it is ~2 MB.
    "$PYTHON" -m wheel unpack -d "$BUILD/unpacked" "$BUILD"/dist/mmcv-*.whl >/dev/null
    find "$BUILD/unpacked" -name '_ext*.so' -exec strip --strip-debug {} +
    mkdir -p "$WHEEL_DIR" "$BUILD/packed"
    "$PYTHON" -m wheel pack -d "$BUILD/packed" "$BUILD"/unpacked/mmcv-* >/dev/null
    mv "$BUILD"/packed/mmcv-*.whl "$WHEEL_DIR/"
    rm -rf "$BUILD"
    say "cached $(ls "$WHEEL_DIR"/mmcv-*.whl)"
  else
    say "using cached mmcv wheel $(ls "$WHEEL_DIR"/mmcv-*.whl)"
  fi
  # --no-deps: the wheel's own requirements (mmengine, ...) come with the rest in step 5,
  # and mmcv.ops is checked once they are there.
  "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
fi

# ---------------------------------------------------------------- 5. OpenMMLab stack + mmtde
say "installing mmengine, mmdet, mmpretrain, lvis, openmim (no-deps) and the test tools"
# torch/torchvision repeated so that nothing here may replace the pair installed above.
"${PIP[@]}" install -q -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/tests.txt" \
  "$TORCH_REQ" "$TORCHVISION_REQ"
# openmim's declared dependencies (opendatalab -> openxlab) pin setuptools~=60, which breaks
# mmcv's build tooling; mim itself only needs the small packages in requirements/mim.txt.
"${PIP[@]}" install -q -r "$REPO/requirements/mim.txt"
"${PIP[@]}" install -q --no-deps openmim==0.3.9
# The documentation tools (tools/build_docs.sh, run by .ci/run): pure-Python wheels, pinned.
mapfile -t DOCS_REQ < <(grep -Ev '^[[:space:]]*(#|$)' "$REPO/requirements/docs.txt")
if ! have "${DOCS_REQ[@]}"; then
  say "installing the documentation tools (requirements/docs.txt)"
  "${PIP[@]}" install -q -r "$REPO/requirements/docs.txt"
fi
# Non-editable on purpose: `mim train mmtde ...` looks for mmtde/.mim in site-packages.
"${PIP[@]}" install -q --no-deps --force-reinstall --no-build-isolation "$REPO"

# ---------------------------------------------------------------- 6. emoji font (Emoji-LVIS)
# The generator's second art style is a system font; where apt-get is at hand (as root) it is
# installed here, elsewhere the message says how to get the pinned file.
# prints nothing when both pinned fonts are found, else the generator's one-line reason
fonts_ok() { { "$PYTHON" -c 'from mmtde.datagen.emoji_lvis import find_fonts; find_fonts()' 2>&1 || true; } | tail -n 1; }
if [ -n "$(fonts_ok)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian's fonts-noto-color-emoji (Emoji-LVIS)"
    apt-get install -y -q fonts-noto-color-emoji >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-noto-color-emoji >/dev/null 2>&1; } \
      || say "warning: apt-get could not install fonts-noto-color-emoji"
  fi
  [ -z "$(fonts_ok)" ] || say "warning: Emoji-LVIS cannot be generated (its tests are skipped): $(fonts_ok)"
fi

mmcv_ok || die "mmcv $MMCV_VERSION is installed but its compiled ops do not import (see: $PYTHON -c 'import mmcv.ops'); remove ${WHEEL_DIR:-the cached mmcv wheel under $CACHE/wheels} and rerun"
if "$PYTHON" -c 'import transformers' 2>/dev/null; then
  die "'transformers' is installed in $VENV and breaks 'import mmpretrain.models'; run: $PYTHON -m pip uninstall -y transformers"
fi
"$PYTHON" - <<'PY'
import mmcv, mmdet, mmengine, mmpretrain, torch, mmtde
from mmcv.ops import nms, roi_align  # noqa: F401
import mmpretrain.models, mmdet.models  # noqa: F401
print(f'[mmtde setup] ok: torch {torch.__version__} (cuda {torch.version.cuda}, '
      f'gpu {torch.cuda.is_available()}), mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, '
      f'mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, mmtde {mmtde.__version__}')
PY
say "done; activate with: source $VENV/bin/activate"
