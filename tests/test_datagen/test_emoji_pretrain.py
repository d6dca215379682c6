# Copyright (c) mmtde contributors. All rights reserved.
import numpy as np
import pytest

from mmtde.datagen import emoji_lvis as el
from mmtde.datagen import emoji_pretrain as ep
from mmtde_test_utils import emoji_font_problem

needs_fonts = pytest.mark.skipif(emoji_font_problem() is not None,
                                 reason='Emoji-LVIS fonts missing')


def test_no_benchmark_class_is_a_pretraining_class():
    class_list = el.load_class_list()
    pre = ep.pretrain_classes(class_list)
    assert len(pre) >= 300
    bench = class_list['classes']
    assert not {c['codepoint'] for c in bench} & {c['codepoint'] for c in pre}
    assert not {c['name'] for c in bench} & {c['name'] for c in pre}
    # and the check itself refuses a list where they meet
    bad = dict(class_list, pretrain_classes=pre + [bench[17]])
    with pytest.raises(ValueError, match='overlap the Emoji-LVIS classes'):
        ep.pretrain_classes(bad)
    with pytest.raises(ValueError, match='make_emoji_lvis_classes.py'):
        ep.pretrain_classes(dict(classes=bench))


@needs_fonts
def test_crops_are_deterministic_and_split_apart():
    glyphs = ep.render_pretrain_glyphs()
    a, ya = ep.make_crops(1, seed=0, size=32, glyphs=glyphs)
    b, _ = ep.make_crops(1, seed=0, size=32, glyphs=glyphs)
    c, _ = ep.make_crops(1, seed=0, split='heldout', size=32, glyphs=glyphs)
    n = len(ep.pretrain_classes())
    assert a.shape == (n, 32, 32, 3) and a.dtype == np.uint8
    assert (ya == np.arange(n)).all()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match='split='):
        ep.make_crops(1, seed=0, split='val', glyphs=glyphs)


def test_inputs_hash_follows_every_input():
    pool = np.zeros((2, 32, 32, 3), np.uint8)
    base = ep.inputs_hash(pool, seed=0, recipe=dict(iters=10))
    assert base == ep.inputs_hash(pool.copy(), seed=0, recipe=dict(iters=10))
    assert base != ep.inputs_hash(pool, seed=1, recipe=dict(iters=10))
    assert base != ep.inputs_hash(pool, seed=0, recipe=dict(iters=11))
    assert base != ep.inputs_hash(pool + 1, seed=0, recipe=dict(iters=10))
    assert base != ep.inputs_hash(None, seed=0, recipe=dict(iters=10))
