"""Install mmcv (with its compiled ops) for the torch of this interpreter.

mmcv 2.1.0, the newest release mmdet 3.3.0 accepts, ships no wheels and its
``setup.py`` compiles with ``-std=c++17``; torch >= 2.14's headers need
C++20. This script builds mmcv from its sdist once per torch build, with the
C++ standard raised to C++20 where the torch needs it, keeps the wheel in a
cache keyed by torch version and op flavour (pip's own wheel cache is keyed
by the sdist alone, so it would hand a wheel built for another torch to this
one), and installs it.

Usage (the interpreter is the environment's)::

    python tools/setup/install_mmcv.py            # build once, install
    python tools/setup/install_mmcv.py --check-torch 2.15.0   # range only

Environment: ``MMCV_VERSION`` (default 2.1.0), ``FORCE_CUDA=1`` for CUDA
ops, ``MIXDET_WHEEL_CACHE`` (default ``~/.cache/mixdet/wheels``),
``MAX_JOBS`` (compile jobs).

Only the standard library is used, so the range check runs before anything
is installed.
"""

import argparse
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

# The torch releases this recipe builds mmcv against: 2.6 is the first whose
# torch.load has the allow-list API mixdet's checkpoint loader uses; 2.15 is
# the newest tested. Widen only after a build and a full test run.
TORCH_RANGE = ((2, 6), (2, 16))
# From this torch on, its headers need C++20.
CXX20_FROM = (2, 14)
CXX_PATCH = (
    ("'-std=c++17'", "'-std=c++20'"),
    ("'/std:c++17'", "'/std:c++20'"),
)


def release(version: str) -> tuple[int, int]:
    """``(major, minor)`` of a torch version string such as ``2.15.0+cpu``."""
    match = re.match(r'(\d+)\.(\d+)', version)
    if not match:
        raise SystemExit(
            f'install_mmcv: cannot read torch version {version!r}'
        )
    return int(match.group(1)), int(match.group(2))


def check_torch(version: str) -> None:
    """One line and exit 2 if ``version`` is outside :data:`TORCH_RANGE`."""
    low, high = TORCH_RANGE
    if not low <= release(version) < high:
        print(
            f'install_mmcv: torch {version} is not supported: mixdet builds '
            f'mmcv for torch >={low[0]}.{low[1]},<{high[0]}.{high[1]} '
            '(set TORCH_VERSION to one of those)',
            file=sys.stderr,
        )
        raise SystemExit(2)


def wheel_key(torch_version: str, cuda: str | None) -> str:
    """Cache folder name: mmcv version, torch build and op flavour."""
    mmcv = os.environ.get('MMCV_VERSION', '2.1.0')
    with_cuda = os.environ.get('FORCE_CUDA') == '1' or cuda_available()
    ops = f'cu{cuda.replace(".", "")}' if with_cuda and cuda else 'cpu'
    return f'mmcv-{mmcv}_torch-{torch_version.split("+")[0]}_{ops}'


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def pip(*args: str) -> None:
    subprocess.run([sys.executable, '-m', 'pip', *args], check=True)


def patch_cxx_standard(setup_py: str) -> int:
    """Raise ``setup.py``'s C++ standard to C++20; returns the edits made."""
    with open(setup_py) as f:
        text = f.read()
    edits = sum(text.count(old) for old, _ in CXX_PATCH)
    for old, new in CXX_PATCH:
        text = text.replace(old, new)
    with open(setup_py, 'w') as f:
        f.write(text)
    return edits


def build_wheel(torch_version: str, out_dir: str) -> str:
    """Download the mmcv sdist, patch it if needed, build its wheel."""
    mmcv = os.environ.get('MMCV_VERSION', '2.1.0')
    with tempfile.TemporaryDirectory(prefix='mmcv-build-') as tmp:
        pip(
            'download', '--no-deps', '--no-binary', 'mmcv',
            '--no-build-isolation', '-d', tmp, f'mmcv=={mmcv}',
        )  # fmt: skip
        sdist = os.path.join(tmp, f'mmcv-{mmcv}.tar.gz')
        with tarfile.open(sdist) as archive:
            archive.extractall(tmp, filter='data')
        source = os.path.join(tmp, f'mmcv-{mmcv}')
        if release(torch_version) >= CXX20_FROM:
            edits = patch_cxx_standard(os.path.join(source, 'setup.py'))
            print(
                f'install_mmcv: setup.py compiles with C++20 ({edits} edits)'
            )
        wheels = os.path.join(tmp, 'wheels')
        pip('wheel', '--no-build-isolation', '--no-deps', '-w', wheels, source)
        (built,) = os.listdir(wheels)
        os.makedirs(out_dir, exist_ok=True)
        target = os.path.join(out_dir, built)
        shutil.move(os.path.join(wheels, built), target + '.part')
        os.replace(target + '.part', target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--check-torch',
        metavar='VERSION',
        help='only check that VERSION is in the supported range',
    )
    args = parser.parse_args()
    if args.check_torch:
        check_torch(args.check_torch)
        return
    import torch

    check_torch(torch.__version__)
    cache = os.environ.get('MIXDET_WHEEL_CACHE') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'mixdet',
        'wheels',
    )
    folder = osp.join(cache, wheel_key(torch.__version__, torch.version.cuda))
    cached = sorted(
        f for f in os.listdir(folder) if f.endswith('.whl')
    ) if osp.isdir(folder) else []  # fmt: skip
    if cached:
        wheel = osp.join(folder, cached[-1])
        print(f'install_mmcv: cached wheel {wheel}')
    else:
        print(
            f'install_mmcv: building mmcv for torch {torch.__version__} '
            '(10-30 min on 2 cores, once; cached in '
            f'{folder})',
            flush=True,
        )
        wheel = build_wheel(torch.__version__, folder)
    pip('install', '--no-build-isolation', wheel)


if __name__ == '__main__':
    main()
