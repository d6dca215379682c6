# Copyright (c) mmtde contributors. All rights reserved.
import importlib.util
import os.path as osp

import pytest
import torch

from mmtde.datagen import emoji_lvis as el
from mmtde_test_utils import emoji_font_problem

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LT = osp.join(REPO, 'configs', 'emoji_lvis', 'faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py')
FIRST = osp.join(REPO, 'configs', 'emoji_lvis', 'mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py')


def _tool():
    spec = importlib.util.spec_from_file_location(
        'pretrain_emoji_trunk', osp.join(REPO, 'tools', 'pretrain_emoji_trunk.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module



@pytest.mark.skipif(emoji_font_problem() is not None, reason='Emoji-LVIS fonts missing')
def test_trunk_is_the_config_backbone_cached_and_checked(tmp_path):
    tool = _tool()
    lines = []
    path = tool.pretrain(LT, seed=0, cache_dir=str(tmp_path), iters=2, train_per_class=1,
                         log=lines.append)
    ckpt = torch.load(path, map_location='cpu', weights_only=False)
    meta = ckpt['meta']
    assert 0 <= meta['heldout_top1'] <= 100 and meta['recipe']['iters'] == 2
    assert meta['num_classes'] == len(el.load_class_list()['pretrain_classes'])
    # exactly the detector's backbone keys, so init_cfg=Pretrained loads every weight
    model = tool.TrunkClassifier(tool.backbone_config(LT), 3)
    assert set(ckpt['state_dict']) == set(model.backbone.state_dict())
    assert any('held-out top-1' in line for line in lines)
    # same inputs: the cached file, no training
    again = []
    assert tool.pretrain(LT, seed=0, cache_dir=str(tmp_path), iters=2, train_per_class=1,
                         log=again.append) == path
    assert again and again[0].startswith('[trunk] cached')
    assert tool.check_trunk(path, LT)['hash'] == meta['hash']
    # the first design trains the same architecture without freezing: the same trunk fits
    assert tool.check_trunk(path, FIRST)['hash'] == meta['hash']
    # a trunk for another backbone, or no file, is refused with the command that makes one
    narrow = tmp_path / 'narrow.py'
    narrow.write_text(f"_base_ = ['{LT}']\nmodel = dict(backbone=dict(base_channels=16))\n")
    with pytest.raises(ValueError, match='pretrain_emoji_trunk.py'):
        tool.check_trunk(path, str(narrow))
    with pytest.raises(FileNotFoundError, match='pretrain_emoji_trunk.py'):
        tool.check_trunk(str(tmp_path / 'missing.pth'), LT)


@pytest.mark.parametrize('scope', ['mmengine', 'mmpretrain'])
def test_the_trunk_builds_under_another_default_scope(scope):
    """A runner of another codebase (or mmengine's own) leaves its default scope in the
    process; the trunk is still mmdet's ResNet, not a KeyError from that scope's registry."""
    from mmengine.registry import DefaultScope
    tool = _tool()
    with DefaultScope.overwrite_default_scope(scope):
        model = tool.TrunkClassifier(tool.backbone_config(LT), 3)
        assert DefaultScope.get_current_instance().scope_name == scope  # left as it was
    assert type(model.backbone).__module__.startswith('mmdet.')
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 3)
