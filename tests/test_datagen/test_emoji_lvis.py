# Copyright (c) mmtde contributors. All rights reserved.
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmtde.datagen import emoji_lvis as el

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LVIS_CATEGORIES = osp.join(os.environ.get('MMTDE_DATA_DIR', osp.join(REPO, '..', 'shared',
                                                                      'data')),
                           'lvis_v1_categories.json')


def _font_problem():
    try:
        el.find_fonts()
    except el.FontError as exc:
        return str(exc)
    return None


needs_fonts = pytest.mark.skipif(_font_problem() is not None,
                                 reason=f'Emoji-LVIS fonts missing: {_font_problem()}')
TINY = dict(num_classes=6, val_per_class=2, heldout_per_class=1, max_images=110,
            progress=False)


@pytest.fixture(scope='module')
def tiny_set(tmp_path_factory):
    if _font_problem():
        pytest.skip(_font_problem())
    out = str(tmp_path_factory.mktemp('emoji_lvis'))
    return el.make_emoji_lvis(out, seed=3, **TINY)


def _load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


@needs_fonts
def test_same_seed_same_bytes_other_seed_other_set(tiny_set, tmp_path):
    again = el.make_emoji_lvis(str(tmp_path / 'again'), seed=3, **TINY)
    other = el.make_emoji_lvis(str(tmp_path / 'other'), seed=4, **TINY)
    for split in ('train', 'heldout', 'val'):
        with open(tiny_set[f'{split}_ann'], 'rb') as a, open(again[f'{split}_ann'], 'rb') as b:
            assert a.read() == b.read()
    first = _load(tiny_set['train_ann'])['images'][0]['coco_url'].split('.org/')[1]
    for root in (again['data_root'],):
        with open(osp.join(tiny_set['data_root'], first), 'rb') as a, \
                open(osp.join(root, first), 'rb') as b:
            assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()
    with open(tiny_set['train_ann'], 'rb') as a, open(other['train_ann'], 'rb') as b:
        assert a.read() != b.read()


@needs_fonts
def test_frequency_groups_are_the_training_image_counts(tiny_set):
    train = _load(tiny_set['train_ann'])
    images_of = {c['id']: set() for c in train['categories']}
    instances = {c['id']: 0 for c in train['categories']}
    for ann in train['annotations']:
        images_of[ann['category_id']].add(ann['image_id'])
        instances[ann['category_id']] += 1
    groups = {}
    for cat in train['categories']:
        n = len(images_of[cat['id']])
        assert cat['image_count'] == n and cat['instance_count'] == instances[cat['id']]
        assert cat['frequency'] == ('r' if n <= 10 else 'c' if n <= 100 else 'f')
        groups[cat['frequency']] = groups.get(cat['frequency'], 0) + 1
    assert groups == dict(r=2, c=2, f=2)  # LVIS v1's 28 / 38 / 34 % of 6 classes
    # every split lists the same categories; val and held-out show each class equally often
    for split, per_class in (('val', 2), ('heldout', 1)):
        data = _load(tiny_set[f'{split}_ann'])
        assert data['categories'] == train['categories']
        seen = {c['id']: set() for c in data['categories']}
        for ann in data['annotations']:
            seen[ann['category_id']].add(ann['image_id'])
        assert {len(v) for v in seen.values()} == {per_class}


def test_lvis_shape_of_200_classes():
    shape = el.load_class_list()['lvis_shape']
    counts = el.training_image_counts(200, shape, 300, np.random.default_rng(0))
    groups = [el.frequency_of(int(n)) for n in counts]
    assert (groups.count('r'), groups.count('c'), groups.count('f')) == (56, 77, 67)
    assert counts.min() == 1 and counts.max() == 300
    rare = counts[counts <= 10]
    # LVIS v1's rare classes: median 4 training images; ours follow its quantiles
    assert np.median(rare) == pytest.approx(np.median(shape['quantiles']['r']), abs=1)


@needs_fonts
def test_annotations_are_exhaustive_and_exact(tiny_set):
    from pycocotools import mask as mask_utils
    data = _load(tiny_set['val_ann'])
    ids = {c['id'] for c in data['categories']}
    by_image = {}
    for ann in data['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    for img in data['images']:
        anns = by_image[img['id']]
        present = {a['category_id'] for a in anns}
        assert set(img['neg_category_ids']) == ids - present
        union = np.zeros((img['height'], img['width']), bool)
        for ann in anns:
            mask = mask_utils.decode(ann['segmentation']).astype(bool)
            assert not (union & mask).any(), 'visible masks of one image overlap'
            union |= mask
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                   ys.max() - ys.min() + 1]
            assert ann['area'] == mask.sum()


def _disc_glyph(radius=40):
    """An opaque disc (RGB 200) with a hard edge: alpha 255 inside, 0 outside."""
    yy, xx = np.mgrid[:2 * radius, :2 * radius]
    inside = (yy - radius + 0.5) ** 2 + (xx - radius + 0.5) ** 2 < radius ** 2
    glyph = np.zeros((2 * radius, 2 * radius, 4), np.uint8)
    glyph[inside] = (200, 200, 200, 255)
    return glyph


def test_masks_are_the_pasted_alpha_where_visible():
    glyphs = {s: [_disc_glyph()] * 6 for s in el.STYLES}
    black = np.zeros((1, 32, 32, 3), np.uint8)  # a black background
    for seed in range(5):
        image, instances = el.draw_image(list(range(6)), glyphs, 96, black,
                                         np.random.default_rng(seed), min_visible=0.6)
        assert len(instances) >= 6
        grey = image.astype(int).sum(axis=-1)
        union = np.zeros(grey.shape, bool)
        for _, mask, style in instances:
            assert style in el.STYLES and mask.any()
            assert not (union & mask).any()
            union |= mask
            # where an instance is said to be visible, its disc covers the black background
            # with at least half its alpha (brightness jitter >= 0.75: 200 * 0.75 * 0.5 * 3)
            assert grey[mask].min() >= 225
        # and every pixel where a disc is drawn at alpha >= 1/2 belongs to some mask
        assert not ((grey >= 0.5 * 255 * 3 * 1.25 + 1) & ~union).any()


def test_instances_keep_their_visible_share():
    glyphs = {s: [_disc_glyph()] for s in el.STYLES}
    painter = el._Painter(np.zeros((64, 64, 3), np.uint8), 0.6, np.random.default_rng(0))
    for _ in range(6):
        painter.paste(glyphs['noto'][0])
    for mask, full in zip(painter.masks, painter.full_area):
        assert mask.sum() >= 0.6 * full


@needs_fonts
def test_tiny_set_reads_as_lvis_and_as_emoji_lvis_dataset(tiny_set):
    pytest.importorskip('mmdet')
    import mmtde.det  # noqa: F401
    from mmtde.det.datasets import EmojiLVISDataset
    from mmtde.evaluation.lvis.annotation_checks import check_lvis_categories
    val = _load(tiny_set['val_ann'])
    check_lvis_categories(val['categories'], tiny_set['val_ann'])
    ds = EmojiLVISDataset(num_classes=6, data_root=tiny_set['data_root'],
                          ann_file='annotations/lvis_v1_val.json', data_prefix=dict(img=''),
                          test_mode=True, pipeline=[])
    assert ds.metainfo['classes'] == tuple(c['name'] for c in val['categories'])
    assert len(ds) == len(val['images'])
    assert osp.isfile(ds[0]['img_path'])
    with pytest.raises(ValueError, match='num_classes=2 must be in 3..'):
        EmojiLVISDataset(num_classes=2, ann_file=tiny_set['val_ann'], pipeline=[])
    # a set generated with other classes than the config names is refused, not mislabelled
    with pytest.raises(ValueError, match='--num-classes and --min-fill'):
        EmojiLVISDataset(num_classes=6, min_fill=0.35, data_root=tiny_set['data_root'],
                         ann_file='annotations/lvis_v1_val.json', data_prefix=dict(img=''),
                         test_mode=True, pipeline=[])


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_classes=2), 'num_classes=2 must be in 3..'),
    (dict(num_classes=100000), 'num_classes=100000 must be in 3..'),
    (dict(max_images=100), 'max_images=100 must be > 100'),
    (dict(val_per_class=0), 'val_per_class=0 must be >= 1'),
    (dict(classes_per_image=0), 'classes_per_image=0 must be in 1..16'),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        el.make_emoji_lvis(str(tmp_path / 'out'), **kwargs)
    assert not (tmp_path / 'out').exists()


def test_missing_or_other_font_is_refused_with_the_way_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(el.FontError, match='apt-get install fonts-noto-color-emoji'):
        el.find_fonts(str(tmp_path / 'NotoColorEmoji.ttf'))
    other = tmp_path / 'Other.ttf'
    other.write_bytes(b'not the pinned font')
    with pytest.raises(el.FontError, match='not the pinned'):
        el.find_fonts(str(other))
    monkeypatch.setattr(el, 'NOTO_PATHS', (str(tmp_path / 'nowhere.ttf'),))
    monkeypatch.delenv(el.NOTO_ENV, raising=False)
    with pytest.raises(el.FontError, match='NotoColorEmoji.ttf not found'):
        el.find_fonts()
    # the command line prints the reason, not a traceback, and exits 2
    env = dict(os.environ, **{el.NOTO_ENV: str(tmp_path / 'missing.ttf')})
    proc = subprocess.run([sys.executable, '-m', 'mmtde.datagen.emoji_lvis', '--out',
                           str(tmp_path / 'out')], capture_output=True, text=True, env=env,
                          cwd=REPO)
    assert proc.returncode == 2
    assert 'fonts-noto-color-emoji' in proc.stderr and 'Traceback' not in proc.stderr


@needs_fonts
@pytest.mark.skipif(not osp.isfile(LVIS_CATEGORIES), reason='no LVIS v1 category list')
def test_committed_class_list_is_what_the_maker_draws(tmp_path):
    out = tmp_path / 'classes.json'
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'dataset_converters',
                                             'make_emoji_lvis_classes.py'),
                    '--lvis-categories', LVIS_CATEGORIES, '--out', str(out)],
                   check=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    assert _load(str(out)) == el.load_class_list()


def test_crowds_stretch_instance_counts_of_frequent_classes_only():
    counts = np.array([1, 4, 10, 11, 100, 101, 300, 1000])
    lam = el.extra_instances_per_image(counts, head_instances=6.0)
    assert (lam[:5] == 0).all()  # rare and common: the usual one (or two) instances
    assert lam[5] == pytest.approx(0.25 + 4.75 * np.log(1.01) / np.log(10))
    assert lam[-1] == pytest.approx(5.0)  # 1 + 5 instances on average for the head class
    assert (np.diff(lam[5:]) > 0).all()
    assert (el.extra_instances_per_image(counts, 0.0) == 0).all()


@needs_fonts
def test_crowded_set_has_the_asked_head_rare_imbalance(tmp_path):
    paths = el.make_emoji_lvis(str(tmp_path / 'lt'), seed=1, num_classes=6, val_per_class=1,
                               heldout_per_class=0, max_images=150, head_instances=4.0,
                               min_fill=0.3, progress=False)
    train = _load(paths['train_ann'])
    cats = {c['id']: c for c in train['categories']}
    per_image = {}
    for ann in train['annotations']:
        key = (ann['image_id'], ann['category_id'])
        per_image[key] = per_image.get(key, 0) + 1
    head = max(cats.values(), key=lambda c: c['image_count'])
    head_mean = np.mean([n for (i, c), n in per_image.items() if c == head['id']])
    rare_mean = np.mean([n for (i, c), n in per_image.items() if cats[c]['frequency'] == 'r'])
    assert head_mean > 2.5 > 1.6 > rare_mean  # Poisson mean 3 extra against 1.25 in all
    names = [c['name'] for c in train['categories']]
    assert names == [c['name'] for c in el.select_classes(6, 0.3)]
    assert all(c['fill'] >= 0.3 for c in el.select_classes(6, 0.3))
    assert train['info']['head_instances'] == 4.0 and train['info']['min_fill'] == 0.3


def test_thin_glyphs_are_left_out_in_list_order():
    everything = el.load_class_list()['classes']
    kept = el.select_classes(20, 0.3)
    assert [c['name'] for c in kept] == [c['name'] for c in everything
                                         if c['fill'] >= 0.3][:20]
    assert el.select_classes(20) == everything[:20]
    with pytest.raises(ValueError, match='lower min_fill'):
        el.select_classes(200, 0.9)
