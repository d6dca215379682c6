# Copyright (c) mmtde contributors. All rights reserved.
"""Read what evaluation needs from an LVIS json without holding its annotations in memory.

``json.load`` of ``lvis_v1_train.json`` (1.27 million annotations with their polygons, 1.1 GB
of text) makes several GB of Python objects; ``lvis_v1_val.json`` about a tenth of that, which
mmdet's ``LVISMetric`` then keeps on every rank for the whole test. The metric only needs, per
image, which categories are verified there, and a per-class plot only needs which images each
category occurs in. :func:`read_lvis_json` decodes the annotations one at a time with the
standard library's decoder and keeps only the named fields, as an integer array: memory is a
read block plus the kept numbers.

This module needs neither mmdet nor mmcv.
"""
import json
import re
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r'[ \t\n\r]*')


class _Stream:
    """A json text read block by block, decoded one value at a time."""

    def __init__(self, f, path: str, block_size: int) -> None:
        self.f, self.path, self.block_size = f, path, block_size
        self.buf, self.pos, self.eof = '', 0, False
        self.offset = 0  # characters dropped from the front of ``buf``, for error messages

    def _fill(self) -> None:
        chunk = self.f.read(self.block_size)
        if not chunk:
            self.eof = True
            return
        self.offset += self.pos
        self.buf = self.buf[self.pos:] + chunk
        self.pos = 0

    def peek(self) -> str:
        """The next character that is not white space (consumed by :meth:`take`)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                raise ValueError(f'{self.path} ends in the middle of its json')
            self._fill()

    def take(self, allowed: str) -> str:
        char = self.peek()
        if char not in allowed:
            raise ValueError(f'{self.path} is not an LVIS json: expected one of {allowed!r} at '
                             f'character {self.offset + self.pos}, got '
                             f'{char!r}')
        self.pos += 1
        return char

    def value(self):
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
                # a number cut at the end of the block decodes, but short: read on first
                if end < len(self.buf) or self.eof:
                    self.pos = end
                    return obj
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise ValueError(f'{self.path} is truncated or not json: {exc.msg} at '
                                     f'character {self.offset + exc.pos}') from exc
            self._fill()


def read_lvis_json(path: str,
                   annotation_keys: Sequence[str] = ('image_id', 'category_id'),
                   skip: Iterable[str] = (),
                   block_size: int = 1 << 24) -> Dict[str, object]:
    """Read an LVIS (or COCO) json, keeping only ``annotation_keys`` of each annotation.

    Args:
        path (str): The json file.
        annotation_keys (Sequence[str]): Integer fields kept from each annotation. Defaults to
            ``('image_id', 'category_id')``.
        skip (Iterable[str]): Top-level keys to decode and drop (e.g. ``('images',)`` when only
            the annotations matter). Defaults to ``()``.
        block_size (int): Characters read at a time. Defaults to 16 Mi.

    Returns:
        dict: Every top-level key not skipped, decoded as ``json.load`` would, except
        ``annotations``: an int64 array of shape (N, len(annotation_keys)), in file order.

    Raises:
        ValueError: When the file is not a json object, or an annotation lacks a kept key.
    """
    keys = tuple(annotation_keys)
    skip = set(skip)
    out: Dict[str, object] = {}
    with open(path, encoding='utf-8') as f:
        stream = _Stream(f, path, block_size)
        stream.take('{')
        if stream.peek() == '}':
            return out
        while True:
            key = stream.value()
            stream.take(':')
            if key == 'annotations':
                out[key] = _read_annotations(stream, keys)
            else:
                value = stream.value()
                if key not in skip:
                    out[key] = value
            if stream.take(',}') == '}':
                return out


def _read_annotations(stream: _Stream, keys: Sequence[str]) -> np.ndarray:
    rows = []
    stream.take('[')
    if stream.peek() == ']':
        stream.take(']')
        return np.zeros((0, len(keys)), dtype=np.int64)
    while True:
        ann = stream.value()
        try:
            rows.append([ann[k] for k in keys])
        except (KeyError, TypeError) as exc:
            raise ValueError(f'annotation {len(rows)} of {stream.path} has no {exc} field; '
                             f'LVIS annotations carry {list(keys)}') from exc
        if stream.take(',]') == ']':
            return np.array(rows, dtype=np.int64).reshape(-1, len(keys))


def training_image_counts(path: str, category_ids: Optional[Sequence[int]] = None
                          ) -> Dict[int, int]:
    """Training images of each category: the distinct images among its annotations.

    This is LVIS's ``image_count`` (what splits rare / common / frequent), counted from the
    annotations themselves rather than read from the categories, which generated sets copy.

    Args:
        path (str): The training json (e.g. ``lvis_v1_train.json``).
        category_ids (Sequence[int], optional): Categories to report (0 where absent).
            Defaults to those listed in the file.

    Returns:
        dict[int, int]: Category id -> number of training images.

    Raises:
        ValueError: When the file has no ``annotations`` (not a training file), or does not list
            some of ``category_ids`` (another dataset's file).
    """
    data = read_lvis_json(path, skip=('images', ))
    if 'annotations' not in data:
        raise ValueError(f'{path} has no "annotations": pass the training annotation file '
                         f'(e.g. lvis_v1_train.json) to count training images per class')
    pairs = np.unique(data['annotations'], axis=0)  # distinct (image, category)
    ids, counts = np.unique(pairs[:, 1], return_counts=True)
    found = dict(zip(ids.tolist(), counts.tolist()))
    listed = [c['id'] for c in data.get('categories', [])]
    if category_ids is None:
        category_ids = listed or sorted(found)
    missing = sorted(set(category_ids) - set(listed) - set(found))
    if missing:
        raise ValueError(f'{path} lists none of the categories {missing[:5]} '
                         f'({len(missing)} in all): pass the training file of the evaluated '
                         f'dataset')
    return {int(c): int(found.get(c, 0)) for c in category_ids}
