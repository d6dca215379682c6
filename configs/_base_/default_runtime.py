# mmpretrain's runtime with a fixed training seed. mmpretrain leaves it to chance
# (randomness.seed=None: mmengine draws one and logs it), so two runs of one config could not be
# compared as A/B. The seed fixes the initial weights, the sample order and the augmentations;
# --cfg-options randomness.seed=N gives another run of the same recipe. It is not the seed of
# the CIFAR-LT subsets, which the datasets' own `seed` fixes.
_base_ = ['mmpretrain::_base_/default_runtime.py']

# deterministic=False (mmengine's default, stated): True also forces deterministic cuDNN and
# torch algorithms, bit-exact reruns for slower GPU kernels; the seed is what makes runs comparable.
randomness = dict(seed=0, deterministic=False)
