# Copyright (c) mmtde contributors. All rights reserved.
"""model-index.yml and the metafiles: what `mim search mmtde` shows must be true."""
import glob
import os.path as osp

import yaml

from mmtde_test_utils import REPO


def load(path):
    with open(osp.join(REPO, path)) as f:
        return yaml.safe_load(f)


def all_models():
    for metafile in load('model-index.yml')['Import']:
        meta = load(metafile)
        collections = {c['Name']: c for c in meta['Collections']}
        for model in meta['Models']:
            yield metafile, model, collections[model['In Collection']]


def test_every_config_is_listed_once_and_exists():
    listed = sorted(m['Config'] for _, m, _ in all_models())
    leaves = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs/*/*.py')))
    assert listed == leaves
    assert all(m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
               for _, m, _ in all_models())


def test_results_are_marked_as_the_papers_and_no_weights_are_promised():
    # no checkpoint of ours is released: every number shown is the paper's, and says so
    for _, model, _ in all_models():
        assert 'Weights' not in model, model['Name']
        for result in model.get('Results', []):
            assert all(name.endswith('(paper)') for name in result['Metrics']), model['Name']


def test_baselines_do_not_claim_the_tde_architecture():
    for _, model, collection in all_models():
        arch = model.get('Metadata', {}).get('Architecture') or \
            collection['Metadata']['Architecture']
        is_tde = 'tde' in model['Name']
        assert ('Total Direct Effect Inference' in arch) == is_tde, model['Name']
