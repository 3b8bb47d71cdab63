"""No tool writes over one of its inputs or through a symbolic link, and
an existing output is replaced only with --force."""

import os

import pytest

from mixdet.testing.shapes import make_shapes_dataset

from .helpers import DEMO_CONFIG, check_error, data_options, load_tool


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data') / 'shapes'
    make_shapes_dataset(str(root), num_train=4, num_val=2, size=64, seed=3)
    return str(root) + '/'


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / 'model.pth'
    path.write_bytes(b'the weights')
    return path


def test_test_out_never_replaces_the_checkpoint(
    tmp_path, capsys, tiny_data, checkpoint
):
    link = tmp_path / 'preds.pkl'
    link.symlink_to(checkpoint)
    check_error(
        tmp_path, capsys, data_options(tiny_data), '--out', 'symbolic link',
        tool='test.py', args=[str(checkpoint), '--out', str(link), '--force'],
    )  # fmt: skip
    assert checkpoint.read_bytes() == b'the weights'
    existing = tmp_path / 'old.pkl'
    existing.write_bytes(b'old predictions')
    check_error(
        tmp_path, capsys, data_options(tiny_data), '--out', '--force',
        tool='test.py', args=[str(checkpoint), '--out', str(existing)],
    )  # fmt: skip
    assert existing.read_bytes() == b'old predictions'


def test_work_dir_never_replaces_the_config(tmp_path, capsys, tiny_data):
    """mmengine dumps the config into the work dir under its own name: a
    work dir that is the config's folder would replace the user's file."""
    config = tmp_path / 'mine.py'
    text = f'_base_ = {DEMO_CONFIG!r}  # my comment\n'
    config.write_text(text)
    code = load_tool('train.py').main(
        [str(config), '--work-dir', str(tmp_path), '--cfg-options',
         *data_options(tiny_data)]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and 'your config' in err and 'another work dir' in err
    assert config.read_text() == text
    assert sorted(os.listdir(tmp_path)) == ['mine.py']


def test_plot_curves_out(tmp_path, capsys):
    tool = load_tool('analysis', 'plot_curves.py')
    run = tmp_path / 'work' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    (run / 'scalars.json').write_text(
        '{"loss": 1.0, "step": 1, "iter": 1, "epoch": 1}\n'
        '{"coco/bbox_mAP": 0.5, "step": 1}\n'
    )
    out = tmp_path / 'curves.png'
    out.write_bytes(b'old')
    assert tool.main([str(tmp_path / 'work'), '--out', str(out)]) == 1
    assert '--force' in capsys.readouterr().err and out.read_bytes() == b'old'
    assert (
        tool.main([str(tmp_path / 'work'), '--out', str(out), '--force']) == 0
    )
    assert out.read_bytes()[:4] == b'\x89PNG'
