# Copyright (c) mmtde contributors. All rights reserved.
"""Places-LT, iNaturalist 2018 and any split list: tiny generated lists and images."""
import os
import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mmtde.cls.datasets import INaturalist2018, ListFileLT, PlacesLT
from mmtde.evaluation import LongTailAccuracy

# Places-LT layout: train/<class>/..., val images moved to val/<class>/...; class 0 has 3
# training images, classes 1 and 2 one each, class 364 (the last) one.
PLACES_TRAIN = [('train/airfield/00004851.jpg', 0), ('train/airfield/00004596.jpg', 0),
                ('train/airfield/00000001.jpg', 0), ('train/airplane_cabin/0001.jpg', 1),
                ('train/airport_terminal/0002.jpg', 2), ('train/zen garden/0003.jpg', 364)]
PLACES_TEST = [('val/airfield/Places365_val_00003597.jpg', 0),
               ('val/zen garden/Places365_val_00000001.jpg', 364)]
INAT_TRAIN = [('train_val2018/Plantae/7477/3b60c948.jpg', 7477),
              ('train_val2018/Plantae/7477/9f8ecb39.jpg', 7477),
              ('train_val2018/Insecta/673/cb75e788.jpg', 673),
              ('train_val2018/Aves/8141/00aa.jpg', 8141)]
INAT_VAL = [('train_val2018/Insecta/673/11bb.jpg', 673),
            ('train_val2018/Plantae/7477/22cc.jpg', 7477)]


def write_list(root, name, entries):
    with open(osp.join(root, name), 'w') as f:
        f.write(''.join(f'{path} {label}\n' for path, label in entries))


def write_images(root, entries):
    """Tiny 12x10 PNGs, coloured by label, at the listed paths."""
    import cv2
    for path, label in entries:
        os.makedirs(osp.dirname(osp.join(root, path)), exist_ok=True)
        img = np.full((10, 12, 3), label % 256, dtype=np.uint8)
        cv2.imwrite(osp.join(root, path), img)


def make_root(tmp_path, lists):
    """A data root with the images of every list and the lists themselves."""
    root = str(tmp_path)
    for name, entries in lists.items():
        write_images(root, entries)
        write_list(root, name, entries)
    return root


@pytest.fixture
def places(tmp_path):
    return make_root(tmp_path, {'Places_LT_train.txt': PLACES_TRAIN,
                                'Places_LT_test.txt': PLACES_TEST})


@pytest.fixture
def inat(tmp_path):
    return make_root(tmp_path, {'iNaturalist18_train.txt': INAT_TRAIN,
                                'iNaturalist18_val.txt': INAT_VAL})


PIPELINE = [dict(type='LoadImageFromFile'), dict(type='ResizeEdge', scale=8, edge='short'),
            dict(type='CenterCrop', crop_size=8), dict(type='PackInputs')]


def test_places_lt_splits_counts_and_images(places):
    train = DATASETS.build(dict(type='PlacesLT', data_root=places, split='train',
                                pipeline=PIPELINE))
    assert isinstance(train, PlacesLT) and len(train) == 6 and train.num_classes == 365
    counts = train.class_counts
    assert len(counts) == 365 and counts[:3] == [3, 1, 1] and counts[364] == 1
    assert train.metainfo['class_counts'] == counts
    # a path with a space survives (the label is the last field)
    assert train.get_data_info(5)['img_path'] == osp.join(places, 'train/zen garden/0003.jpg')
    sample = train[0]  # the data path: list -> file -> pipeline
    assert tuple(sample['inputs'].shape) == (3, 8, 8)
    assert int(sample['data_samples'].gt_label) == 0

    # the test split is grouped by the *training* counts
    test = PlacesLT(data_root=places, split='test', pipeline=PIPELINE)
    assert [test.get_data_info(i)['gt_label'] for i in range(len(test))] == [0, 364]
    assert test.class_counts == counts
    assert int(test[1]['data_samples'].gt_label) == 364


def test_long_tail_accuracy_reads_the_counts_of_a_list_dataset(places):
    test = PlacesLT(data_root=places, split='test')
    metric = LongTailAccuracy(many_thr=2, few_thr=2, tail_k=0)
    metric.dataset_meta = test.metainfo
    metric.process(None, [dict(pred_label=0, gt_label=0), dict(pred_label=0, gt_label=364)])
    # class 0 (3 training images) is many-shot, class 364 (1) few-shot
    assert metric.compute_metrics(metric.results) == {'top1': 50.0, 'many': 100.0, 'few': 0.0}


def test_inaturalist2018_has_train_and_val_only(inat):
    val = DATASETS.build(dict(type='INaturalist2018', data_root=inat, split='val',
                              pipeline=PIPELINE))
    assert isinstance(val, INaturalist2018) and len(val) == 2
    counts = val.class_counts
    assert len(counts) == 8142 and (counts[7477], counts[673], counts[8141]) == (2, 1, 1)
    assert sum(counts) == 4
    assert tuple(val[0]['inputs'].shape) == (3, 8, 8)
    with pytest.raises(ValueError, match=r"split='test' must be one of \('train', 'val'\)"):
        INaturalist2018(data_root=inat, split='test')


def test_malformed_lines_name_file_line_and_fix(places):
    for bad in ('train/airfield/a.jpg', 'train/airfield/a.jpg 3.0', 'train/airfield/a.jpg x'):
        with open(osp.join(places, 'Places_LT_val.txt'), 'w') as f:
            f.write(f'{PLACES_TRAIN[0][0]} 0\n\n{bad}\n')
        with pytest.raises(ValueError, match=r'Places_LT_val\.txt:3: expected "<image path> '
                           r'<label>" with an integer label, got .*fix or remove this line'):
            PlacesLT(data_root=places, split='val', check_files=False)


def test_out_of_range_label_names_value_and_classes(places, inat):
    write_list(places, 'Places_LT_val.txt', [PLACES_TRAIN[0], ('train/x/y.jpg', 365)])
    with pytest.raises(ValueError, match=r'Places_LT_val\.txt:2: label 365 is outside '
                       r'\[0, 365\).*num_classes'):
        PlacesLT(data_root=places, split='val', check_files=False)
    write_list(inat, 'iNaturalist18_val.txt', [('a.jpg', -1)])
    with pytest.raises(ValueError, match=r'label -1 is outside \[0, 8142\)'):
        INaturalist2018(data_root=inat, split='val', check_files=False)


def test_missing_image_names_line_path_count_and_fix(places):
    os.remove(osp.join(places, PLACES_TRAIN[4][0]))
    with pytest.raises(FileNotFoundError, match=r'Places_LT_train\.txt:5: image .*'
                       r'airport_terminal/0002\.jpg.*1 of 6 .*Places365-Standard.*'
                       r'check_files=False'):
        PlacesLT(data_root=places, split='train')
    assert len(PlacesLT(data_root=places, split='train', check_files=False)) == 6


def test_missing_list_says_where_to_get_it(inat):
    os.remove(osp.join(inat, 'iNaturalist18_val.txt'))
    with pytest.raises(FileNotFoundError, match=r"iNaturalist18_val\.txt' not found; write "
                       r'iNaturalist18_\{train,val\}\.txt from train2018\.json'):
        INaturalist2018(data_root=inat, split='val')


def test_any_list_with_its_own_names(places, tmp_path):
    lists = tmp_path / 'lists'
    lists.mkdir()
    write_list(str(lists), 'train.txt', PLACES_TRAIN[:4])
    write_list(str(lists), 'test.txt', PLACES_TEST[:1])
    ds = ListFileLT(data_root=places, ann_file=str(lists / 'test.txt'), num_classes=2)
    assert len(ds) == 1 and ds.class_counts == [3, 1]  # counted from train.txt beside it
    named = ListFileLT(data_root=places, ann_file=str(lists / 'test.txt'),
                       metainfo=dict(classes=('airfield', 'airplane_cabin')))
    assert named.class_counts == [3, 1] and named.metainfo['classes'] == ('airfield',
                                                                          'airplane_cabin')
    with pytest.raises(ValueError, match=r'num_classes=None; pass num_classes=C'):
        ListFileLT(data_root=places, ann_file=str(lists / 'test.txt'))
    with pytest.raises(ValueError, match=r'num_classes=3 but metainfo lists 2 classes'):
        ListFileLT(data_root=places, ann_file=str(lists / 'test.txt'), num_classes=3,
                   metainfo=dict(classes=('a', 'b')))
