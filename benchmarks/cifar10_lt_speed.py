# Copyright (c) mmtde contributors. All rights reserved.
"""Where a CIFAR-10-LT training step spends its time on this machine, against its arithmetic.

Three figures, each measured in this process with ``--threads`` threads:

* ``peak``: what the CPU sustains on the two kinds of arithmetic a ResNet-32 step is made of: a
  large float32 matrix product (the best case) and ResNet-32's own 3 x 3 convolutions at the
  training batch, forward, in each of its three stages (16, 32, 64 channels).
* ``step``: one SGD training step of the config's model (forward, loss with the update of ``d``,
  backward, SGD step) on a synthetic batch, in the variants a user can switch on from a config:
  float32 NCHW (the default), channels-last (the batch in NHWC layout, as
  ``tools/train.py --channels-last`` feeds it), bfloat16 autocast, ``torch.compile`` and their
  combinations (``+``). For each:
  milliseconds a step, images a second and the fraction of both peaks that the step's
  arithmetic reaches (3 x the forward FLOPs, counted on the model's convolutions and linears).
* ``data``: the config's own train pipeline (decoding, random crop, flip, packing) in the main
  process, per batch, for the data copy given with ``--data-root``.

Example (the README's speed table)::

    PYTHONPATH=. python benchmarks/cifar10_lt_speed.py --threads 2 \
        --data-root ../shared/data --out work_dirs/benchmarks/cifar10_lt_speed.json
"""
import argparse
import os
import statistics
import time
from typing import Callable, Dict, List

import torch
from benchlib import REPO, add_common_args, command_line, cpu_info, write_results
from torch import nn

CONFIG = 'configs/cifar_lt/resnet32-causalnorm-tde_1xb256-200e_cifar10-lt-if100.py'
VARIANTS = ('fp32', 'channels_last', 'bf16', 'compile', 'channels_last+compile',
            'bf16+channels_last', 'bf16+channels_last+compile')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    add_common_args(parser, 'work_dirs/benchmarks/cifar10_lt_speed',
                    data_root_help='CIFAR-10 copy for the data figure (official pickles, image '
                    'folder or cifar10-jpeg.tar.gz); without it the data figure is skipped',
                    data_root_env=False)
    parser.add_argument('--config', default=f'{REPO}/{CONFIG}')
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--steps', type=int, default=10, help='timed steps per variant')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS[:5]), choices=VARIANTS,
                        help='bfloat16 variants are skipped on a CPU that would emulate it')
    parser.add_argument('--data-batches', type=int, default=10)
    args = parser.parse_args(argv)
    for name in ('threads', 'batch', 'steps', 'data_batches'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} {getattr(args, name)} must be >= 1')
    return args


def timed(fn: Callable[[], None], reps: int, warmup: int) -> List[float]:
    """Milliseconds of each of ``reps`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def forward_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs (2 x multiply-adds) of the convolutions and linears of one forward of ``x``."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs = output.numel() * kh * kw * module.in_channels // module.groups
        else:
            macs = output.numel() * module.in_features
        total += 2 * macs

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total


def peak_figures(batch: int, reps: int) -> Dict[str, dict]:
    """GFLOP/s of a 2048^3 float32 product and of ResNet-32's stage convolutions."""
    figures = {}
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    ms = statistics.median(timed(lambda: a @ b, reps, 2))
    figures['sgemm 2048^3'] = dict(ms=ms, gflops=2 * 2048 ** 3 / ms / 1e6)
    for channels, size in ((16, 32), (32, 16), (64, 8)):
        conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        x = torch.randn(batch, channels, size, size)
        flops = forward_flops(conv, x)
        with torch.no_grad():
            ms = statistics.median(timed(lambda: conv(x), reps, 2))
        figures[f'conv3x3 {channels}ch {size}x{size}'] = dict(ms=ms, gflops=flops / ms / 1e6)
    return figures


def build_model(cfg_path: str) -> nn.Module:
    import logging

    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import mmtde.cls  # noqa: F401  (registers the backbone and the head)
    cfg = Config.fromfile(cfg_path)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every parameter
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.train()


def step_fn(model: nn.Module, variant: str, batch: int) -> Callable[[], None]:
    """One SGD step of ``model`` in ``variant`` on a fixed synthetic batch."""
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, 3, 32, 32, generator=gen)
    labels = torch.randint(0, 10, (batch,), generator=gen)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    parts = variant.split('+')
    if 'channels_last' in parts:  # as ChannelsLastHook (--channels-last) does: the batch only
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    forward = model
    if 'compile' in parts:
        model.backbone = torch.compile(model.backbone)
    autocast = torch.autocast('cpu', dtype=torch.bfloat16, enabled='bf16' in parts)

    def step():
        optim.zero_grad(set_to_none=True)
        with autocast:
            losses = forward(inputs, samples, mode='loss')
        sum(losses.values()).backward()
        optim.step()
    return step


def data_figure(cfg_path: str, data_root: str, batches: int) -> dict:
    """Milliseconds per batch of the config's train pipeline, in the main process."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmtde.cls  # noqa: F401
    cfg = Config.fromfile(cfg_path)
    loader = cfg.train_dataloader
    loader.dataset.data_root = data_root  # official pickles or a copy (CIFAR10LT reads both)
    loader.num_workers = 0
    loader.persistent_workers = False
    dataloader = Runner.build_dataloader(loader)
    it = iter(dataloader)
    next(it)
    start = time.perf_counter()
    for _ in range(batches):
        next(it)
    ms = (time.perf_counter() - start) * 1e3 / batches
    return dict(ms_per_batch=ms, batch=loader.batch_size, dataset=loader.dataset.type)


def cpu_description() -> str:
    """The CPU as /proc/cpuinfo names it, with the vector extensions that decide its speed
    here (which speed table of the README applies to it)."""
    name, flags = cpu_info()
    ext = [f for f in ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16') if f in flags]
    return f"{name} ({', '.join(ext) or 'no AVX2'})"


def main(argv=None):
    from mmtde.engine import bf16_supported
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as the tools do on a CPU
    results = dict(machine=cpu_description(), threads=args.threads,
                   torch=torch.__version__, batch=args.batch)
    results['peak'] = peak_figures(args.batch, max(3, args.steps // 2))
    best_peak = max(v['gflops'] for v in results['peak'].values())
    conv_peak = max(v['gflops'] for k, v in results['peak'].items() if k.startswith('conv'))
    for name, fig in results['peak'].items():
        print(f'[speed] peak {name}: {fig["ms"]:.2f} ms, {fig["gflops"]:.1f} GFLOP/s')

    flops = forward_flops(build_model(args.config).eval(), torch.randn(1, 3, 32, 32))
    results['forward_gflop_per_image'] = flops / 1e9
    results['step'] = {}
    for variant in args.variants:
        if 'bf16' in variant.split('+') and not bf16_supported('cpu'):
            results['step'][variant] = dict(skipped='no native bfloat16 on this CPU (emulated '
                                            'it is slower than float32; BF16OptimWrapper refuses)')
            print(f'[speed] step {variant}: skipped, {results["step"][variant]["skipped"]}')
            continue
        torch.manual_seed(0)
        model = build_model(args.config)
        start = time.perf_counter()
        fn = step_fn(model, variant, args.batch)
        fn()  # compiles, for 'compile'
        first = time.perf_counter() - start
        ms = statistics.median(timed(fn, args.steps, args.warmup))
        gflops = 3 * flops * args.batch / ms / 1e6
        results['step'][variant] = dict(
            ms=ms, first_step_s=first, images_per_s=args.batch / ms * 1e3, gflops=gflops,
            of_sgemm_peak=gflops / best_peak, of_conv_peak=gflops / conv_peak)
        print(f'[speed] step {variant}: {ms:.1f} ms / {args.batch} images, '
              f'{args.batch / ms * 1e3:.0f} img/s, {gflops:.1f} GFLOP/s = '
              f'{100 * gflops / best_peak:.0f} % of sgemm, {100 * gflops / conv_peak:.0f} % of '
              f'the best conv (first step {first:.1f} s)')
    if args.data_root:
        results['data'] = data_figure(args.config, args.data_root, args.data_batches)
        print(f'[speed] data: {results["data"]["ms_per_batch"]:.1f} ms per batch of '
              f'{results["data"]["batch"]} ({results["data"]["dataset"]}, main process)')
    results['command'] = command_line(__file__, argv)
    print('[speed] wrote {} and {}'.format(*write_results(
        args.out, results, markdown(results), args.work_dir)))
    return results


def markdown(results: dict) -> str:
    """The training-step figures as a markdown table."""
    lines = [f"{results['machine']}, {results['threads']} threads, torch {results['torch']}, "
             f"batch {results['batch']}", '',
             '| variant | ms a step | images/s | GFLOP/s | of sgemm peak | of conv peak |',
             '|---|---|---|---|---|---|']
    for variant, fig in results['step'].items():
        if 'skipped' in fig:
            lines.append(f"| {variant} | skipped: {fig['skipped']} | | | | |")
            continue
        lines.append(f"| {variant} | {fig['ms']:.1f} | {fig['images_per_s']:.0f} | "
                     f"{fig['gflops']:.1f} | {100 * fig['of_sgemm_peak']:.0f} % | "
                     f"{100 * fig['of_conv_peak']:.0f} % |")
    if 'data' in results:
        lines += ['', f"Data pipeline: {results['data']['ms_per_batch']:.1f} ms per batch of "
                  f"{results['data']['batch']} ({results['data']['dataset']}, main process)"]
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
