# Copyright (c) mmtde contributors. All rights reserved.
import json

import numpy as np
import pytest

from mmtde.evaluation.class_counts import lvis_class_counts
from mmtde.evaluation.class_rank import (
    format_rank_table,
    frequency_groups,
    summarize_ranks,
    true_class_ranks,
)


def test_ranks_by_hand():
    scores = np.array([[.1, .5, .3, .9],    # true 0: .5 and .3 above it -> 3 (bg .9 ignored)
                       [.4, .4, .2, .0],    # true 1: tie with class 0 counts for it -> 1
                       [.2, .3, .5, .0]])   # true 2: top -> 1
    assert true_class_ranks(scores[:, :-1], np.array([0, 1, 2])).tolist() == [3, 1, 1]


def test_frequency_groups_boundaries():
    # LVIS: rare 1-10 images, common 11-100, frequent above
    assert frequency_groups([1, 10, 11, 100, 101]).tolist() == ['r', 'r', 'c', 'c', 'f']


def test_summary_by_hand():
    groups = np.array(['r', 'c', 'f'])
    probs = np.array([
        [.1, .2, .5, .2],  # rare box, top class f, rank 3
        [.6, .1, .2, .1],  # rare box, rank 1
        [.1, .2, .3, .4],  # common box: rank 2 among fg, background on top
        [.1, .1, .7, .1],  # frequent box, rank 1
    ])
    labels = np.array([0, 0, 1, 2])
    out = summarize_ranks(probs, labels, groups, names=['a', 'b', 'c'], topk=2)
    r = out['groups']['r']
    assert r['boxes'] == 2 and r['top1'] == .5 and r['top2'] == .5
    assert r['median_rank'] == 2 and r['mean_rank'] == 2
    assert r['top_group'] == dict(r=.5, c=0, f=.5) and r['top_is_background'] == 0
    c = out['groups']['c']
    assert c['top1'] == 0 and c['top2'] == 1 and c['top_is_background'] == 1
    assert out['groups']['all']['boxes'] == 4 and out['groups']['all']['top1'] == .5
    assert out['classes'][0] == dict(label=0, name='a', group='r', boxes=2, top1=.5,
                                     median_rank=2.0)
    table = format_rank_table({'x': out}, topk=2)
    assert 'top-2 %' in table and len(table.splitlines()) == 5


def test_summary_refuses_mismatched_groups():
    with pytest.raises(ValueError, match='groups has shape'):
        summarize_ranks(np.ones((1, 4)) / 4, np.array([0]), np.array(['r', 'c']))


@pytest.fixture
def small_lvis(tmp_path):
    cats = [dict(id=3, name='c3', image_count=7, instance_count=9),
            dict(id=1, name='c1', image_count=2, instance_count=2),
            dict(id=5, name='c5', image_count=1, instance_count=1)]
    anns = [dict(id=i, image_id=img, category_id=cat) for i, (img, cat) in enumerate(
        [(1, 3), (1, 3), (2, 3), (1, 1), (2, 1), (2, 1), (3, 1)])]
    path = tmp_path / 'train.json'
    path.write_text(json.dumps(dict(images=[dict(id=i) for i in (1, 2, 3)], annotations=anns,
                                    categories=cats)))
    return str(path)


def test_counts_in_file_order(small_lvis):
    cats, images = lvis_class_counts(small_lvis, 'image')
    assert [c['id'] for c in cats] == [3, 1, 5]  # label order = the file's category order
    assert images.tolist() == [2, 3, 0]  # category 5 never annotated
    assert lvis_class_counts(small_lvis, 'instance')[1].tolist() == [3, 4, 0]
    assert lvis_class_counts(small_lvis, 'image', 'categories')[1].tolist() == [7, 2, 1]
    assert lvis_class_counts(small_lvis, 'instance', 'categories')[1].tolist() == [9, 2, 1]


def test_counts_bad_inputs(small_lvis, tmp_path):
    with pytest.raises(ValueError, match="count='box' must be one of"):
        lvis_class_counts(small_lvis, 'box')
    bare = tmp_path / 'bare.json'
    bare.write_text(json.dumps(dict(annotations=[], categories=[dict(id=1, name='a')])))
    with pytest.raises(ValueError, match="have no 'image_count'.*source='annotations'"):
        lvis_class_counts(str(bare), 'image', 'categories')
    odd = tmp_path / 'odd.json'
    odd.write_text(json.dumps(dict(annotations=[dict(image_id=1, category_id=9)],
                                   categories=[dict(id=1, name='a')])))
    with pytest.raises(ValueError, match=r'annotates category ids \[9\]'):
        lvis_class_counts(str(odd))
