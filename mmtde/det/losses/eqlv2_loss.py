# Copyright (c) mmtde contributors. All rights reserved.
from typing import Dict

from mmdet.models.losses import EQLV2Loss, accuracy
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class BBoxHeadEQLV2Loss(EQLV2Loss):
    """mmdet 3.3's ``EQLV2Loss`` made usable in its own ``BBoxHead``.

    mmdet 3.3 ships the loss (Tan et al., CVPR 2021) but not the flags through which
    ``BBoxHead`` asks a loss for its output channels and its test-time activation
    (``custom_cls_channels`` / ``custom_activation``, as ``SeesawLoss`` has them), and names the
    channel method ``get_channel_num`` instead of ``get_cls_channels``. Used as is, the head
    trains EQLv2's per-class sigmoids and then scores them with a softmax at test time. This
    subclass only adds those flags: ``C + 1`` sigmoid outputs (the last one is the objectness
    of EQLv2's reference code), and at test time ``sigmoid``, foreground scaled by
    ``1 - sigmoid(bg)`` (``test_with_obj=True``, EQLv2's default).
    """

    custom_cls_channels = True
    custom_activation = True  # BBoxHead then also asks the loss for its accuracy

    def get_cls_channels(self, num_classes: int) -> int:
        return self.get_channel_num(num_classes)

    def get_accuracy(self, cls_score: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """The plain accuracy BBoxHead logs for softmax heads (argmax over the C + 1)."""
        return dict(acc=accuracy(cls_score, labels))
