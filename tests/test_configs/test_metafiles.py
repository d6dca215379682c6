# Copyright (c) mmtde contributors. All rights reserved.
"""model-index.yml and the metafiles: what `mim search mmtde` shows must be true."""
import glob
import hashlib
import os.path as osp
import re

from mmtde_test_utils import REPO, metafile_models


def test_every_config_is_listed_once_and_exists():
    listed = sorted(m['Config'] for _, m, _ in metafile_models())
    leaves = sorted(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs/*/*.py'))
                    if not p.startswith(osp.join(REPO, 'configs', '_base_')))
    assert listed == leaves
    assert all(m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
               for _, m, _ in metafile_models())


def test_results_say_their_source_and_checkpoints_are_shipped_files():
    # every number shown is the paper's or was measured here on a checkpoint that ships in the
    # repository, and says which. No `Weights`: there is no download address, so `mim download`
    # would fail on one; the file lies under the name publish_model.py gave it
    # (<stem>_<yyyymmdd>-<sha256[:8]>.pth), and its content still has that hash
    for _, model, _ in metafile_models():
        assert 'Weights' not in model, model['Name']
        ckpt = model.get('Metadata', {}).get('Checkpoint')
        for result in model.get('Results', []):
            for name in result['Metrics']:
                assert name.endswith('(paper)') or (
                    ckpt and name.endswith('(measured here)')), (model['Name'], name)
        if ckpt is None:
            continue
        path = osp.join(REPO, ckpt)
        assert osp.isfile(path), ckpt
        match = re.fullmatch(r'.+_\d{8}-([0-9a-f]{8})\.pth', osp.basename(ckpt))
        assert match, ckpt
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        assert digest.startswith(match.group(1)), ckpt
        assert model['Metadata']['Checkpoint SHA256'] == digest, model['Name']


def test_baselines_do_not_claim_the_tde_architecture():
    for _, model, collection in metafile_models():
        arch = model.get('Metadata', {}).get('Architecture') or \
            collection['Metadata']['Architecture']
        is_tde = 'tde' in model['Name']
        assert ('Total Direct Effect Inference' in arch) == is_tde, model['Name']
