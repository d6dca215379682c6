# Copyright (c) mmtde contributors. All rights reserved.
"""LVIS evaluation: ``StrictLVISMetric`` and the pieces it is made of, one job a module.

Needing neither mmdet nor mmcv (tools and tests use them on their own; ``import
mmtde.evaluation.lvis`` imports none of the modules below):

* :mod:`.numpy_patch`: lvis-api (``lvis`` 0.5.3) on numpy >= 1.24, numpy itself untouched.
* :mod:`.annotation_checks`: an LVIS json without frequency groups, or a dataset whose classes
  are not its categories, refused before testing.
* :mod:`.json_reader`: an LVIS json streamed, keeping only a few annotation fields; the
  training images of each class.
* :mod:`.detection_caps`: which detections LVIS AP (300 an image) and Fixed AP (K a class)
  score.
* :mod:`.per_class_ap`: each class's AP, to a json and a plot against its training images.

Needing lvis-api, and all but the first mmdet (``import mmtde.det`` registers the metric):

* :mod:`.ap_backends`: AP one group of categories at a time, by lvis-api or faster-coco-eval.
* :mod:`.compact_detections`: per image, only the detections LVIS AP scores, in numpy arrays.
* :mod:`.metric_settings`: ``StrictLVISMetric`` settings that cannot work, refused up front.
* :mod:`.strict_lvis_metric`: ``StrictLVISMetric``, mmdet's ``LVISMetric`` with the above.
"""
