# Copyright (c) mmtde contributors. All rights reserved.
"""Per-class training counts of an LVIS (or COCO-format) json, in the model's label order.

Post-hoc corrections (NorCal) and the class-rank diagnostic need, for each class the detector
scores, how often it was seen in training. mmdet gives label ``i`` to the ``i``-th category of
the annotation file (lvis-api's ``get_cat_ids``), so the counts here follow the file's category
order. This module needs neither mmdet nor mmcv.
"""
from typing import List, Tuple

import numpy as np

from .lvis.json_reader import read_lvis_json

#: What a class count may be: images that contain the class, or its annotated instances.
COUNT_TYPES = ('image', 'instance')
#: Where counts may be read: counted from the annotations, or the categories' LVIS fields.
COUNT_SOURCES = ('annotations', 'categories')


def lvis_class_counts(path: str, count: str = 'image',
                      source: str = 'annotations') -> Tuple[List[dict], np.ndarray]:
    """Training counts of every category of ``path``, in label order.

    Args:
        path (str): The training annotation file (e.g. ``lvis_v1_train.json``).
        count (str): ``'image'`` (images that contain the class; LVIS's ``image_count``, which
            defines its rare / common / frequent groups) or ``'instance'`` (annotated
            instances; LVIS's ``instance_count``). Defaults to 'image'.
        source (str): ``'annotations'`` counts them from the file's annotations (right for any
            file); ``'categories'`` reads the categories' ``image_count`` / ``instance_count``
            (LVIS's own files; faster, but generated sets may copy them from another dataset).
            Defaults to 'annotations'.

    Returns:
        tuple[list[dict], np.ndarray]: The categories in file order, and the counts, int64 of
        shape (C,), 0 for a class never annotated.
    """
    if count not in COUNT_TYPES:
        raise ValueError(f'count={count!r} must be one of {COUNT_TYPES}')
    if source not in COUNT_SOURCES:
        raise ValueError(f'source={source!r} must be one of {COUNT_SOURCES}')
    data = read_lvis_json(path, annotation_keys=('image_id', 'category_id'), skip=('images', ))
    cats = data.get('categories')
    if not isinstance(cats, list) or not cats or not all('id' in c for c in cats):
        raise ValueError(f'{path} has no "categories" list with ids: give an LVIS / COCO-format '
                         f'training annotation file')
    ids = np.array([c['id'] for c in cats], dtype=np.int64)
    if source == 'categories':
        field = f'{count}_count'
        missing = [c.get('name', c['id']) for c in cats if field not in c]
        if missing:
            raise ValueError(f'{len(missing)} categories of {path} have no {field!r} (e.g. '
                             f'{missing[0]!r}): use source=\'annotations\' to count them from '
                             f'the annotations')
        return cats, np.array([c[field] for c in cats], dtype=np.int64)
    anns = data.get('annotations')
    if anns is None:
        raise ValueError(f'{path} has no "annotations": give the training annotation file, '
                         f'whose annotations are counted')
    if count == 'image':
        anns = np.unique(anns, axis=0)  # distinct (image, category) pairs
    found, per_id = np.unique(anns[:, 1], return_counts=True)
    unknown = np.setdiff1d(found, ids)
    if unknown.size:
        raise ValueError(f'{path} annotates category ids {unknown[:5].tolist()} that its '
                         f'"categories" do not list: the file is inconsistent')
    counts = np.zeros(len(ids), dtype=np.int64)
    index = {int(i): k for k, i in enumerate(ids.tolist())}
    for cat_id, n in zip(found.tolist(), per_id.tolist()):
        counts[index[cat_id]] = n
    return cats, counts
