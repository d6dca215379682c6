# Copyright (c) mmtde contributors. All rights reserved.
"""The CIFAR ResNet-32 of BBN, used by the CIFAR-LT runs of De-confound-TDE."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import Tensor, nn


class ZeroPadShortcut(nn.Module):
    """Parameter-free ("option A") shortcut of the CIFAR ResNets.

    Subsamples space by ``stride`` and zero-pads the channels on both sides, so a block that
    changes width or resolution adds no parameter for its identity path.

    Args:
        in_channels (int): Channels of the input.
        out_channels (int): Channels of the output, at least ``in_channels``.
        stride (int): Spatial subsampling factor.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f'a zero-pad shortcut cannot shrink channels: '
                             f'{in_channels} -> {out_channels}')
        self.stride = stride
        pad = out_channels - in_channels
        self.pad_front, self.pad_back = pad // 2, pad - pad // 2

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride))."""
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_front, self.pad_back))


class CifarBasicBlock(nn.Module):
    """3x3-3x3 residual block, post-activation, with an option-A shortcut.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of the first convolution. Defaults to 1.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = ZeroPadShortcut(in_channels, out_channels, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C_out, H / stride, W / stride), after the final ReLU."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@MODELS.register_module()
class BBNResNet32(BaseBackbone):
    """ResNet-32 for 32x32 inputs as in BBN (Zhou et al., CVPR 2020).

    A 3x3 stem (16 channels), three stages of ``stage_blocks`` basic blocks with 16/32/64
    channels and strides 1/2/2, parameter-free zero-pad shortcuts, then two parallel
    64-channel blocks on the stage-3 output whose outputs are concatenated. With the defaults
    this is the 5/5/4 (+2) layout of the reference CIFAR-LT runs: pooled by
    ``GlobalAveragePooling`` it gives the 128-d feature that ``num_head=2`` splits into the two
    branches.

    Convolutions are Kaiming-normal (fan-in, ReLU gain) initialised through ``init_cfg``, which
    mmengine applies in ``init_weights()`` (the ``Runner`` calls it); batch norms start at
    weight 1, bias 0.

    Args:
        stem_channels (int): Channels of the stem conv. Defaults to 16.
        stage_channels (Sequence[int]): Channels of each stage. Defaults to (16, 32, 64).
        stage_blocks (Sequence[int]): Blocks in each stage. Defaults to (5, 5, 4).
        strides (Sequence[int]): Stride of the first block of each stage.
            Defaults to (1, 2, 2).
        num_branches (int): Parallel blocks after the last stage, concatenated on channels.
            Defaults to 2.
        init_cfg (dict | list[dict], optional): mmengine initialisation config.
            Defaults to Kaiming-normal convs and constant-1 batch norms.

    Shapes:
        input: (N, 3, H, W); output: a 1-tuple with (N, num_branches * 64, H / 4, W / 4).
    """

    def __init__(self,
                 stem_channels: int = 16,
                 stage_channels: Sequence[int] = (16, 32, 64),
                 stage_blocks: Sequence[int] = (5, 5, 4),
                 strides: Sequence[int] = (1, 2, 2),
                 num_branches: int = 2,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', mode='fan_in', nonlinearity='relu',
                     distribution='normal'),
                dict(type='Constant', val=1, bias=0, layer=['_BatchNorm']),
            ]
        super().__init__(init_cfg=init_cfg)
        if not len(stage_channels) == len(stage_blocks) == len(strides):
            raise ValueError(f'stage_channels={tuple(stage_channels)}, stage_blocks='
                             f'{tuple(stage_blocks)} and strides={tuple(strides)} must have '
                             f'one entry per stage')
        if num_branches < 1:
            raise ValueError(f'num_branches={num_branches} must be >= 1 (BBN uses 2)')
        self.conv1 = nn.Conv2d(3, stem_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)

        in_channels = stem_channels
        self.stages = nn.ModuleList()
        for channels, blocks, stride in zip(stage_channels, stage_blocks, strides):
            layers = [CifarBasicBlock(in_channels, channels, stride)]
            layers += [CifarBasicBlock(channels, channels) for _ in range(blocks - 1)]
            self.stages.append(nn.Sequential(*layers))
            in_channels = channels
        # Separate modules on purpose: BBN's two branches share no weight.
        self.branches = nn.ModuleList(
            CifarBasicBlock(in_channels, in_channels) for _ in range(num_branches))
        self.out_channels = num_branches * in_channels

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Run the network.

        Args:
            x (Tensor): Images of shape (N, 3, H, W).

        Returns:
            tuple[Tensor]: One map of shape (N, num_branches * 64, H / 4, W / 4), post-ReLU.
        """
        x = F.relu(self.bn1(self.conv1(x)))
        for stage in self.stages:
            x = stage(x)
        return (torch.cat([branch(x) for branch in self.branches], dim=1), )
