# Copyright (c) mmtde contributors. All rights reserved.
import os
import os.path as osp

import pytest
from mmpretrain.registry import DATASETS

from mmtde.cls.datasets import ImageNetLT

TRAIN = [('train/n01440764/n01440764_190.JPEG', 0), ('train/n01440764/n01440764_2.JPEG', 0),
         ('train/n01443537/n01443537_7.JPEG', 1), ('train/n01484850/n01484850_9.JPEG', 2),
         ('train/n01440764/n01440764_31.JPEG', 0)]
TEST = [('val/n01440764/ILSVRC2012_val_00000293.JPEG', 0),
        ('val/n01443537/ILSVRC2012_val_00000236.JPEG', 1)]


def _write(root, name, entries, blank_line=False):
    lines = [f'{path} {label}' for path, label in entries]
    if blank_line:
        lines.insert(1, '')
    with open(osp.join(root, name), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _touch(root, entries):
    for path, _ in entries:
        os.makedirs(osp.dirname(osp.join(root, path)), exist_ok=True)
        open(osp.join(root, path), 'wb').close()


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path)
    _touch(root, TRAIN + TEST)
    _write(root, 'ImageNet_LT_train.txt', TRAIN, blank_line=True)
    _write(root, 'ImageNet_LT_test.txt', TEST)
    return root


def test_train_split_and_counts(root):
    ds = DATASETS.build(dict(type='ImageNetLT', data_root=root, split='train'))
    assert isinstance(ds, ImageNetLT)
    assert len(ds) == 5
    assert ds.get_data_info(2) == {'img_path': osp.join(root, TRAIN[2][0]), 'gt_label': 1,
                                   'sample_idx': 2}
    assert len(ds.metainfo['classes']) == 1000
    counts = ds.class_counts
    assert len(counts) == 1000 and counts[:4] == [3, 1, 1, 0] and sum(counts) == 5
    assert ds.metainfo['class_counts'] == counts


def test_test_split_reads_training_counts(root):
    ds = ImageNetLT(data_root=root, split='test')
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == [0, 1]
    assert ds.class_counts[:3] == [3, 1, 1]


def test_counts_come_from_the_training_list_whatever_the_list(root):
    # As configs give it: an ann_file and no split. A balanced val list must not become the
    # class counts (every class would look medium-shot).
    _write(root, 'ImageNet_LT_val.txt', TEST * 3)
    ds = ImageNetLT(data_root=root, ann_file='ImageNet_LT_val.txt')
    assert len(ds) == 6 and ds.class_counts[:3] == [3, 1, 1]
    explicit = ImageNetLT(data_root=root, ann_file='ImageNet_LT_val.txt',
                          train_ann_file='ImageNet_LT_test.txt')
    assert explicit.class_counts[:3] == [1, 1, 0]


def test_test_split_without_training_list_has_no_counts(root):
    os.remove(osp.join(root, 'ImageNet_LT_train.txt'))
    ds = ImageNetLT(data_root=root, split='test')
    assert ds.class_counts is None and 'class_counts' not in ds.metainfo


def test_label_out_of_range_names_file_line_and_value(root):
    _write(root, 'ImageNet_LT_val.txt', [TEST[0], ('val/n01443537/x.JPEG', 1000)])
    with pytest.raises(ValueError, match=r'ImageNet_LT_val\.txt:2: label 1000 is outside'):
        ImageNetLT(data_root=root, split='val', check_files=False)
    _write(root, 'ImageNet_LT_val.txt', [TEST[0], ('val/n01443537/x.JPEG', -1)])
    with pytest.raises(ValueError, match='label -1'):
        ImageNetLT(data_root=root, split='val', check_files=False)


def test_malformed_line(root):
    with open(osp.join(root, 'ImageNet_LT_val.txt'), 'w') as f:
        f.write('val/n01440764/a.JPEG\n')
    with pytest.raises(ValueError, match=r'ImageNet_LT_val\.txt:1: expected'):
        ImageNetLT(data_root=root, split='val', check_files=False)


def test_missing_image_names_line_and_path_unless_disabled(root):
    os.remove(osp.join(root, TRAIN[3][0]))
    with pytest.raises(FileNotFoundError, match=r'ImageNet_LT_train\.txt:5: image .*'
                       r'n01484850_9\.JPEG.*1 of 5 .*check_files=False'):
        ImageNetLT(data_root=root, split='train')
    assert len(ImageNetLT(data_root=root, split='train', check_files=False)) == 5


def test_missing_list_and_bad_split(root):
    with pytest.raises(FileNotFoundError, match='ImageNet_LT_val.txt'):
        ImageNetLT(data_root=root, split='val')
    with pytest.raises(ValueError, match='split='):
        ImageNetLT(data_root=root, split='training')


def test_data_prefix_and_explicit_list(root, tmp_path):
    lists = tmp_path / 'lists'
    lists.mkdir()
    _write(str(lists), 'my_train.txt', [(p.split('/', 1)[1], lab) for p, lab in TRAIN])
    ds = ImageNetLT(data_root=root, data_prefix='train', ann_file=str(lists / 'my_train.txt'))
    assert ds.get_data_info(0)['img_path'] == osp.join(root, TRAIN[0][0])
