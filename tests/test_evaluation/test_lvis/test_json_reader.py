# Copyright (c) mmtde contributors. All rights reserved.
import json

import numpy as np
import pytest

from mmtde.evaluation.lvis.json_reader import read_lvis_json, training_image_counts

DATA = {
    'info': {'description': 'a "quoted" {brace} [bracket], not an "annotations": key'},
    'images': [{'id': 7, 'neg_category_ids': [2]}, {'id': 9, 'neg_category_ids': []}],
    'annotations': [
        {'id': 1, 'image_id': 7, 'category_id': 1, 'bbox': [1.5, 2e-3, 10, 1e10],
         'segmentation': [[1.0, 2.0, 3.25, 4.0, 5.0, 6.0]]},
        {'id': 2, 'image_id': 7, 'category_id': 1, 'bbox': [0, 0, 1, 1],
         'segmentation': {'size': [4, 4], 'counts': 'ab\\"c'}},
        {'id': 3, 'image_id': 9, 'category_id': 1, 'bbox': [0, 0, 1, 1], 'segmentation': []},
        {'id': 4, 'image_id': 9, 'category_id': 3, 'bbox': [-12345.678, 0, 1, 1]},
    ],
    'categories': [{'id': i, 'name': f'c{i}', 'frequency': 'r'} for i in (1, 2, 3)],
}


@pytest.mark.parametrize('block_size', [1, 7, 64, 1 << 24])
@pytest.mark.parametrize('indent', [None, 2])
def test_streamed_read_equals_json_load(tmp_path, block_size, indent):
    path = tmp_path / 'lvis.json'
    path.write_text(json.dumps(DATA, indent=indent))
    data = read_lvis_json(str(path), annotation_keys=('id', 'image_id', 'category_id'),
                          block_size=block_size)
    assert data.keys() == DATA.keys()
    for key in ('info', 'images', 'categories'):
        assert data[key] == DATA[key]
    expected = [[a['id'], a['image_id'], a['category_id']] for a in DATA['annotations']]
    assert data['annotations'].dtype == np.int64
    assert data['annotations'].tolist() == expected


def test_skipped_keys_and_empty_annotations(tmp_path):
    path = tmp_path / 'lvis.json'
    path.write_text(json.dumps(dict(DATA, annotations=[])))
    data = read_lvis_json(str(path), skip=('images', ), block_size=5)
    assert 'images' not in data and data['annotations'].shape == (0, 2)


def test_training_image_counts_count_distinct_images(tmp_path):
    path = tmp_path / 'train.json'
    path.write_text(json.dumps(DATA))
    # category 1: two annotations on image 7 (one image) and one on image 9; 2 has none
    assert training_image_counts(str(path)) == {1: 2, 2: 0, 3: 1}
    assert training_image_counts(str(path), [3, 2]) == {3: 1, 2: 0}
    with pytest.raises(ValueError, match=r'lists none of the categories \[5, 6\] \(2 in all\): '
                       r'pass the training file of the evaluated dataset'):
        training_image_counts(str(path), [1, 5, 6])


def test_bad_files_say_what_is_wrong(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text('[1, 2]')
    with pytest.raises(ValueError, match=r"bad\.json is not an LVIS json: expected one of '\{'"):
        read_lvis_json(str(path))
    path.write_text(json.dumps({'annotations': [{'id': 1, 'category_id': 2}]}))
    with pytest.raises(ValueError, match=r"annotation 0 of .*bad\.json has no 'image_id'"):
        read_lvis_json(str(path))
    path.write_text(json.dumps({'images': [], 'categories': []}))
    with pytest.raises(ValueError, match='has no "annotations": pass the training annotation'):
        training_image_counts(str(path))
    path.write_text('{"images": [1, 2')
    with pytest.raises(ValueError, match=r"bad\.json is truncated or not json: Expecting ','"):
        read_lvis_json(str(path), block_size=3)
    path.write_text('{"images": [1, 2] ')
    with pytest.raises(ValueError, match='ends in the middle of its json'):
        read_lvis_json(str(path), block_size=3)
