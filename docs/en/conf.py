# Copyright (c) mmtde contributors. All rights reserved.
"""Sphinx configuration of mmtde's documentation (MyST Markdown; API from the docstrings).

Build: ``bash tools/build_docs.sh`` (warnings are errors). The source directory is the
repository root, restricted to ``docs/en`` and the config folders' READMEs, so that the pages
link to ``configs/<folder>/README.md`` exactly as they do on GitHub and both resolve."""
import importlib.util
import os.path as osp
import sys

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
sys.path.insert(0, REPO)  # document the checkout, not an installed copy

version_ns = {}
with open(osp.join(REPO, 'mmtde', 'version.py')) as f:
    exec(f.read(), version_ns)

project = 'mmtde'
copyright = 'mmtde contributors'
author = 'mmtde contributors'
release = version_ns['__version__']
version = release

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.viewcode',
]
source_suffix = {'.md': 'markdown'}
root_doc = 'docs/en/index'
include_patterns = ['docs/en/**', 'configs/*/README.md']
exclude_patterns = ['.git', '.venv', 'work_dirs', 'data', 'build', 'dist', 'docs/_build']

# Markdown: headings get anchors so that "page.md#section" links resolve.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']

# Google-style docstrings, as in OpenMMLab.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# 'Attributes:' sections as fields of their class: dataclass and NamedTuple fields are also
# documented as members, and two descriptions of one attribute would collide.
napoleon_use_ivar = True
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {'show-inheritance': True}
# The real OpenMMLab stack is imported (tools/setup_env.sh installs it); only optional
# backends that are absent are mocked.
autodoc_mock_imports = [
    name for name in ('faster_coco_eval', ) if importlib.util.find_spec(name) is None
]

html_theme = 'sphinx_rtd_theme'
html_title = f'mmtde {release}'
html_static_path = []
