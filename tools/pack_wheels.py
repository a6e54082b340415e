#!/usr/bin/env python
"""Download the wheels a machine without network needs to train MSFAM:
mmengine and its pure-Python (or small binary) dependencies, for that
machine's Python, without what such machines already have (torch, numpy,
OpenCV).

    python tools/pack_wheels.py --python-version 3.12 --out .whl/py312 \
        [--have NAME ...]
    # on the machine (no network), from the repository copy:
    python -m pip install --no-index --no-deps .whl/py312/*.whl
    python -m pip install --no-index --no-deps --no-build-isolation -e .
    python tools/train_all.py --protocol cross --device cuda ...

The training path (msfam_mm's fusion core: mmengine, no mmdet or compiled
mmcv) then imports. ``.whl/`` is ignored by git; docs/training.md, "One
command", has the whole GPU recipe.
"""
import argparse
import glob
import os
import subprocess
import sys

#: what the fusion core needs beyond torch, numpy and OpenCV
#: (requirements/fusion.txt; mmengine brings the rest as dependencies)
PACKAGES = ('mmengine==0.10.7', 'tqdm>=4.66')
#: what a GPU machine with PyTorch has (torch with CUDA, numpy, OpenCV);
#: --have names more (the lent H200's image holds matplotlib, PyYAML,
#: rich, Pillow, tqdm and their dependencies: docs/training.md)
SKIP = ('numpy', 'opencv_python', 'opencv_python_headless', 'torch')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--python-version', default='3.12')
    p.add_argument('--platform', default='manylinux_2_28_x86_64')
    p.add_argument('--out', default='.whl/py312')
    p.add_argument('--have', nargs='*', default=list(SKIP),
                   help='packages the machine has: their wheels are not '
                   'kept (wheel names, e.g. opencv_python; default: '
                   '%(default)s)')
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    platforms = [args.platform, 'manylinux2014_x86_64',
                 'manylinux_2_17_x86_64']
    cmd = [sys.executable, '-m', 'pip', 'download', '--only-binary=:all:',
           '--python-version', args.python_version, '--implementation',
           'cp', '-d', args.out] + [
               a for plat in platforms for a in ('--platform', plat)
           ] + list(PACKAGES)
    print('$ ' + ' '.join(cmd))
    if subprocess.run(cmd).returncode != 0:
        sys.exit('pack_wheels: pip download failed (network, or a package '
                 'without a wheel for this Python)')
    skip = [name.lower().replace('-', '_') for name in args.have]
    kept = 0
    for path in sorted(glob.glob(os.path.join(args.out, '*.whl'))):
        name = os.path.basename(path).split('-')[0].lower()
        if name in skip:
            os.remove(path)
        else:
            kept += os.path.getsize(path)
    print(f'pack_wheels: {len(glob.glob(os.path.join(args.out, "*.whl")))} '
          f'wheels, {kept / 2 ** 20:.1f} MiB in {args.out} (without '
          f'{", ".join(skip)})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
