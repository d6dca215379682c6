# Copyright (c) mmtde contributors. All rights reserved.
"""mmtde.evaluation.lvis is the one home of LVIS evaluation: the old module paths are aliases
of it, its mmdet-free modules import no mmdet, and nothing in mmtde.evaluation imports up."""
import ast
import glob
import importlib
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmtde_test_utils import REPO

#: Old module path -> the modules of mmtde.evaluation.lvis it re-exports.
OLD_PATHS = {
    'mmtde.evaluation.lvis_compat': ('numpy_patch', 'annotation_checks'),
    'mmtde.evaluation.lvis_json': ('json_reader', ),
    'mmtde.evaluation.lvis_per_class': ('per_class_ap', ),
    'mmtde.evaluation.lvis_selection': ('detection_caps', ),
    'mmtde.det.evaluation': ('strict_lvis_metric', ),
    'mmtde.det.evaluation.lvis_backends': ('ap_backends', ),
    'mmtde.det.evaluation.lvis_compact': ('compact_detections', ),
    'mmtde.det.evaluation.strict_lvis_metric': ('strict_lvis_metric', ),
}
MMDET_FREE = ('numpy_patch', 'annotation_checks', 'json_reader', 'detection_caps',
              'per_class_ap')


@pytest.mark.parametrize('old', OLD_PATHS)
def test_old_path_is_an_alias(old):
    module = importlib.import_module(old)
    homes = [importlib.import_module(f'mmtde.evaluation.lvis.{name}') for name in OLD_PATHS[old]]
    assert module.__doc__.startswith('Alias of ')
    assert all(home.__name__ in module.__doc__ for home in homes)
    assert module.__all__
    for name in module.__all__:  # the very objects, not copies
        assert any(getattr(home, name, None) is getattr(module, name) for home in homes), name


def test_the_metric_is_registered_by_mmtde_det():
    from mmengine.registry import METRICS

    import mmtde.det
    from mmtde.evaluation.lvis.strict_lvis_metric import StrictLVISMetric
    assert METRICS.get('StrictLVISMetric') is StrictLVISMetric is mmtde.det.StrictLVISMetric


def test_mmdet_free_modules_import_no_mmdet():
    imports = '; '.join(f'import mmtde.evaluation.lvis.{name}' for name in MMDET_FREE)
    code = (f'import sys; import mmtde.evaluation.class_counts; {imports}; '
            "print(sorted(m for m in ('mmdet', 'mmcv', 'lvis') if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True, check=True, env=dict(os.environ, PYTHONPATH=REPO))
    assert out.stdout.strip() == '[]', out.stderr


def imported_modules(path):
    """The absolute names of the modules a file imports (relative imports resolved)."""
    package = osp.relpath(osp.dirname(path), REPO).split(osp.sep)
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            yield '.'.join(base + ([node.module] if node.module else []))


def test_mmtde_evaluation_imports_no_higher_layer():
    """The lower layer may not import mmtde.cls or mmtde.det (the other way round is fine)."""
    paths = glob.glob(osp.join(REPO, 'mmtde', 'evaluation', '**', '*.py'), recursive=True)
    upward = [(osp.relpath(path, REPO), name) for path in paths
              for name in imported_modules(path)
              if name.split('.')[:2] in (['mmtde', 'cls'], ['mmtde', 'det'])]
    assert not upward
    assert 'mmtde.evaluation.plots' in imported_modules(
        osp.join(REPO, 'mmtde', 'evaluation', 'lvis', 'per_class_ap.py'))  # resolves ..plots
