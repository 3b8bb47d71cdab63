"""OpenMMLab's real ``mim`` (openmim, installed into a throwaway folder)
sees mixdet as it sees mmdet: ``mim list``, ``mim search``, ``mim train``
and ``mim test``, for this checkout's editable install (``make setup``)
and for a normal install of its wheel."""

import os
import subprocess
import sys

import pytest

from mixdet.testing.shapes import make_shapes_dataset

from .helpers import REPO_DIR, data_options, pip_install_into

pytestmark = pytest.mark.slow  # installs openmim, trains through it

# openmim 0.3.9 and what its list/search/train/test import (its
# `opendatalab` dependency is only a dataset-download CLI, and numpy must
# stay the venv's): installed with --no-deps into a folder of their own.
MIM_PACKAGES = (
    'openmim==0.3.9 click colorama model-index ordered-set markdown pandas '
    'python-dateutil pytz tzdata rich markdown-it-py mdurl pygments tabulate '
    'requests urllib3 idna charset-normalizer certifi six'
).split()
DEMO = 'ssdlite_mixnet-s_1xb16-10e_shapes.py'


@pytest.fixture(scope='module')
def mim_path(tmp_path_factory):
    target = str(tmp_path_factory.mktemp('openmim'))
    return pip_install_into(target, MIM_PACKAGES)


def mim(mim_path, *args, path=(), cwd=None):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([*path, mim_path]))
    return subprocess.run(
        [sys.executable, '-m', 'mim', *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or REPO_DIR,
    )


def test_mim_lists_searches_trains_and_tests_mixdet(mim_path, tmp_path):
    listed = mim(mim_path, 'list', cwd=str(tmp_path))
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert any(
        line.split()[:1] == ['mixdet'] for line in listed.stdout.splitlines()
    ), listed.stdout
    found = mim(mim_path, 'search', 'mixdet', cwd=str(tmp_path))
    assert found.returncode == 0, found.stderr[-2000:]
    assert 'config id: ssdlite_mixnet-s_8xb24-600e_coco' in found.stdout
    # train and test by config name, as `mim train mmdet CONFIG` does
    data = str(tmp_path / 'data') + '/'
    make_shapes_dataset(data, num_train=16, num_val=8, size=96, seed=3)
    options = data_options(data) + [
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=8',
        'param_scheduler.0.end=2',
    ]
    work = tmp_path / 'work'
    trained = mim(
        mim_path, 'train', 'mixdet', DEMO, '--work-dir', str(work),
        '--cfg-options', *options, cwd=str(tmp_path),
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    tested = mim(
        mim_path, 'test', 'mixdet', DEMO, '--checkpoint',
        str(work / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
        '--cfg-options', *options, cwd=str(tmp_path),
    )  # fmt: skip
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert (tmp_path / 'test' / 'metrics.json').is_file()


def test_mim_sees_a_normal_install_of_the_wheel(mim_path, tmp_path):
    wheels, site = tmp_path / 'wheels', tmp_path / 'site'

    def pip(*args):
        result = subprocess.run(
            [sys.executable, '-m', 'pip', '-q', *args],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-2000:]

    pip('wheel', '--no-deps', '--no-build-isolation', '-w', str(wheels),
        REPO_DIR)  # fmt: skip
    pip('install', '--no-deps', '--target', str(site),
        *map(str, wheels.glob('*.whl')))  # fmt: skip
    copies = site / 'mixdet' / '.mim'
    assert (copies / 'model-index.yml').is_file()
    assert not (copies / 'configs').is_symlink()
    assert (copies / 'configs' / 'mixnet' / 'metafile.yml').is_file()
    assert (copies / 'tools' / 'train.py').is_file()
    found = mim(
        mim_path, 'search', 'mixdet', path=[str(site)], cwd=str(tmp_path)
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert 'config id: ssdlite_mixnet-m_8xb24-600e_coco' in found.stdout
