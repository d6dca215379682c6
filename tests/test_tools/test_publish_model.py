# Copyright (c) mmtde contributors. All rights reserved.
"""tools/publish_model.py: a training checkpoint (numpy values in its message hub, as mmengine
writes them) becomes a release file without optimizer state, named with its sha256."""
import hashlib
import importlib.util
import os.path as osp
import re

import numpy as np
import pytest
import torch

from mmtde_test_utils import REPO

spec = importlib.util.spec_from_file_location(
    'publish_model', osp.join(REPO, 'tools', 'publish_model.py'))
publish_model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(publish_model)


def _training_checkpoint(path):
    model = torch.nn.Linear(4, 3)
    model.register_buffer('d', torch.arange(4.0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(2, 4)).sum().backward()
    opt.step()
    torch.save(dict(meta=dict(epoch=3, dataset_meta=dict(classes=('a', 'b', 'c'))),
                    state_dict=model.state_dict(), optimizer=opt.state_dict(),
                    message_hub=dict(log_scalars={'loss': np.array([0.5, 0.4])}),
                    param_schedulers=[dict(last_epoch=3)]), path)
    return model.state_dict()


def test_publish_keeps_the_weights_and_d_and_drops_the_rest(tmp_path):
    state = _training_checkpoint(tmp_path / 'epoch_3.pth')
    (tmp_path / 'out').mkdir()
    final, left_out_ema = publish_model.publish(str(tmp_path / 'epoch_3.pth'),
                                                str(tmp_path / 'out' / 'm.pth'))
    assert not left_out_ema
    data = open(final, 'rb').read()
    assert osp.basename(final).startswith('m_') and final.endswith(
        f'-{hashlib.sha256(data).hexdigest()[:8]}.pth')
    ckpt = torch.load(final, weights_only=True)  # nothing but tensors and plain values left
    assert set(ckpt) == {'meta', 'state_dict'} and ckpt['meta']['epoch'] == 3
    assert set(ckpt['state_dict']) == set(state)
    for k, v in state.items():
        assert torch.equal(ckpt['state_dict'][k], v), k
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [osp.basename(final)]


@pytest.mark.parametrize('case, match', [
    ('missing', "checkpoint '.*nope.pth' does not exist"),
    ('no_out_dir', "output folder '.*absent' does not exist: create it first"),
    ('not_a_checkpoint', 'is not an mmengine checkpoint'),
])
def test_bad_arguments_exit_2_naming_the_value(tmp_path, capsys, case, match):
    src = tmp_path / 'epoch_3.pth'
    _training_checkpoint(src)
    out = tmp_path / 'm.pth'
    if case == 'missing':
        src = tmp_path / 'nope.pth'
    elif case == 'no_out_dir':
        out = tmp_path / 'absent' / 'm.pth'
    else:
        torch.save(torch.zeros(3), src)
    with pytest.raises(SystemExit) as exc:
        publish_model.main([str(src), str(out)])
    assert exc.value.code == 2
    assert re.search(match, capsys.readouterr().err)
    assert not list(tmp_path.glob('m*.pth'))


def test_ema_weights_are_published_on_request_and_never_dropped_silently(tmp_path, capsys):
    state = _training_checkpoint(tmp_path / 'epoch_3.pth')
    ckpt = torch.load(tmp_path / 'epoch_3.pth', weights_only=False)
    ema = {f'module.{k}': v + 1 for k, v in state.items()}
    torch.save(dict(ckpt, ema_state_dict=dict(ema, steps=torch.tensor(7))),
               tmp_path / 'ema.pth')
    (tmp_path / 'out').mkdir()
    publish_model.main([str(tmp_path / 'ema.pth'), str(tmp_path / 'out' / 'plain.pth')])
    assert 'also holds EMA weights' in capsys.readouterr().out
    publish_model.main([str(tmp_path / 'ema.pth'), str(tmp_path / 'out' / 'ema.pth'), '--ema'])
    assert '(EMA weights)' in capsys.readouterr().out
    for name, offset in (('plain', 0), ('ema', 1)):
        published = torch.load(next((tmp_path / 'out').glob(f'{name}_*.pth')))
        assert 'ema_state_dict' not in published
        for k, v in state.items():
            assert torch.equal(published['state_dict'][k], v + offset), (name, k)
    with pytest.raises(SystemExit):  # no EMA weights to publish
        publish_model.main([str(tmp_path / 'epoch_3.pth'), str(tmp_path / 'x.pth'), '--ema'])
    assert 'has no EMA weights (trained without EMAHook): drop --ema' in capsys.readouterr().err
