"""tools/misc/show_predictions.py: any image, own classes, aspect kept."""

import os

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from .helpers import REPO_DIR, load_tool

DEMO_CONFIG = os.path.join(
    REPO_DIR, 'configs', 'demo', 'ssdlite_mixnet-s_1xb16-10e_shapes.py'
)
tool = load_tool('misc', 'show_predictions.py')


@pytest.fixture(scope='module')
def three_class_checkpoint(tmp_path_factory):
    """A Runner-style checkpoint of the demo model for 3 own classes (the
    config has 4): its head does not fit the config as written."""
    register_all_modules()
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model.bbox_head.num_classes = 3
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'own.pth'
    meta = {'dataset_meta': {'classes': ('cat', 'dog', 'bird')}}
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, path)
    return str(path)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """Non-square images of three sizes: a JPEG, a PNG, a grayscale."""
    root = tmp_path_factory.mktemp('images')
    g = np.random.default_rng(0)
    cv2.imwrite(str(root / 'wide.jpg'), g.integers(0, 255, (60, 160, 3)))
    cv2.imwrite(str(root / 'tall.png'), g.integers(0, 255, (150, 70, 3)))
    cv2.imwrite(str(root / 'gray.jpg'), g.integers(0, 255, (90, 90)))
    return root


def test_files_folders_and_globs(images, three_class_checkpoint, tmp_path):
    found = tool.find_images(
        [str(images / 'tall.png'), str(images), str(images / '*.jpg')]
    )
    assert [os.path.basename(p) for p in found] == [
        'tall.png',
        'gray.jpg',
        'wide.jpg',
    ]
    with pytest.raises(tool.ConfigError, match='--images .*nope'):
        tool.find_images([str(images / 'nope*.jpg')])


def test_own_classes_from_the_checkpoint_and_nothing_above_threshold(
    images, three_class_checkpoint, tmp_path, capsys
):
    out = tmp_path / 'grid.png'
    code = tool.main(
        [
            DEMO_CONFIG,
            three_class_checkpoint,
            '--images',
            str(images / 'wide.jpg'),
            str(images / '*.png'),
            '--score-thr',
            '1.01',
            '--out',
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert 'no box scored --score-thr 1.01 or more in 2 of 2 images' in (
        printed.out
    )
    picture = cv2.imread(str(out))
    # two cells as large as the largest image (150 x 160), side by side
    assert picture.shape == (150, 320, 3)
    # --cfg-options reach the model (and a wrong head is named, not loaded)
    code = tool.main(
        [
            DEMO_CONFIG,
            three_class_checkpoint,
            '--images',
            str(images),
            '--classes',
            'a',
            'b',
            '--cfg-options',
            'model.bbox_head.num_classes=2',
            '--out',
            str(tmp_path / 'x.png'),
        ]
    )
    assert code == 1
    assert 'bbox_head' in capsys.readouterr().err
    assert not (tmp_path / 'x.png').exists()


def test_each_image_keeps_its_aspect_ratio():
    wide = np.full((50, 200, 3), 255, np.uint8)
    cell = tool.letterbox(wide, (100, 100))
    rows = np.where(cell[:, :, 0].max(axis=1) > 0)[0]
    cols = np.where(cell[:, :, 0].max(axis=0) > 0)[0]
    assert cell.shape == (100, 100, 3)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (
        25,
        100,
    )
    picture = tool.grid([wide, np.zeros((100, 40, 3), np.uint8)])
    assert picture.shape == (100, 400, 3)


def test_out_never_destroys_a_file(
    images, three_class_checkpoint, tmp_path, capsys, monkeypatch
):
    """--out: an existing file only with --force, never through a link
    (nor creating a dangling link's target), and a failed write (a full
    disk) keeps the old picture and exits non-zero."""

    def run(out, *extra):
        code = tool.main(
            [DEMO_CONFIG, three_class_checkpoint, '--images',
             str(images / 'wide.jpg'), '--out', str(out), *extra]
        )  # fmt: skip
        return code, capsys.readouterr()

    out = tmp_path / 'grid.png'
    out.write_bytes(b'old picture')
    code, printed = run(out)
    assert code == 1 and '--force' in printed.err
    assert out.read_bytes() == b'old picture'
    unrelated = tmp_path / 'notes.png'
    unrelated.write_bytes(b'unrelated')
    link = tmp_path / 'link.png'
    link.symlink_to(unrelated)
    code, printed = run(link, '--force')
    assert code == 1 and 'symbolic link' in printed.err
    assert unrelated.read_bytes() == b'unrelated'
    dangling = tmp_path / 'dangling.png'
    dangling.symlink_to(tmp_path / 'target.png')
    code, printed = run(dangling, '--force')
    assert code == 1 and not (tmp_path / 'target.png').exists()

    import errno

    from mixdet.checkpoint import atomic

    def full_disk(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(atomic.os, 'fsync', full_disk)
    code, printed = run(out, '--force')
    assert code == 1 and 'No space left' in printed.err
    assert 'wrote' not in printed.out
    assert out.read_bytes() == b'old picture'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'dangling.png',
        'grid.png',
        'link.png',
        'notes.png',
    ]
    monkeypatch.undo()
    code, printed = run(out, '--force')
    assert code == 0 and cv2.imread(str(out)).shape == (60, 160, 3)


@pytest.mark.parametrize(
    'option, words',
    [(['--num', '0'], '--num 0'), (['--score-thr', 'nan'], '--score-thr nan'),
     (['--score-thr', '-1'], 'expected a finite number >= 0')],
)  # fmt: skip
def test_numeric_options_are_checked(
    images, three_class_checkpoint, tmp_path, capsys, option, words
):
    out = tmp_path / 'x.png'
    code = tool.main([DEMO_CONFIG, three_class_checkpoint, '--images',
                      str(images), '--out', str(out), *option])  # fmt: skip
    assert code == 1 and words in capsys.readouterr().err
    assert not out.exists()
