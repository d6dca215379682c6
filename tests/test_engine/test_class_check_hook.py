# Copyright (c) mmtde contributors. All rights reserved.
"""ClassCheckHook on a real mmengine Runner (the launcher tests run it through tools/train.py)."""
import pytest
import torch
from mmengine.runner import Runner

from test_ema_feature_hook import ToyTDEModel


def test_test_set_with_other_classes_fails_before_testing(tmp_path):
    from mmtde.functional import CausalNormLinear

    class Classes(list):
        metainfo = dict(classes=('a', 'b', 'c'))

    model = ToyTDEModel(with_feature=False)
    model.cls = CausalNormLinear(4, 2)  # scores 2 classes; the test set has 3
    runner = Runner(
        model=model, work_dir=str(tmp_path),
        test_dataloader=dict(dataset=Classes([dict(inputs=torch.randn(4))] * 2), batch_size=2,
                             collate_fn=dict(type='default_collate'),
                             sampler=dict(type='DefaultSampler', shuffle=False)),
        test_evaluator=[], test_cfg=dict(),
        custom_hooks=[dict(type='ClassCheckHook')], default_hooks=dict(checkpoint=None))
    with pytest.raises(ValueError, match=r'cls: the TDE classifier scores 2 classes but the '
                       r'test set Classes has 3; set num_classes=3'):
        runner.test()
