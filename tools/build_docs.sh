#!/usr/bin/env bash
# Builds the documentation (docs/en, MyST Markdown, API reference from the docstrings) into
# work_dirs/docs/html (MMTDE_DOCS_OUT to change) with warnings as errors: a broken internal
# link, a page missing from the table of contents or a malformed docstring fails the build.
# Every build reads every page again (-E), so that no warning hides in a cached page. Extra
# arguments go to sphinx-build.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMTDE_VENV:-$REPO/.venv}"
OUT="${MMTDE_DOCS_OUT:-$REPO/work_dirs/docs/html}"
cd "$REPO"
"$VENV/bin/python" -c 'import sphinx, myst_parser, sphinx_rtd_theme' 2>/dev/null || {
  echo "[mmtde docs] Sphinx is not installed in $VENV: run bash tools/setup_env.sh (it installs requirements/docs.txt)" >&2
  exit 1
}
echo "[mmtde docs] building docs/en into $OUT"
# The source is the repository root (docs/en/conf.py restricts it to docs/en and the config
# folders' READMEs, which the pages link to); the start page is docs/en/index.html.
"$VENV/bin/python" -m sphinx -W --keep-going -E -q -b html -c docs/en . "$OUT" "$@"
echo "[mmtde docs] ok: $OUT/docs/en/index.html"
