"""Data faults are named before training starts or when they happen:
tools/misc/check_dataset.py, the tools' start-up check, unreadable images."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from mixdet.cli.coco_check import scan_coco
from mixdet.testing.shapes import make_shapes_dataset

from .helpers import (
    DEMO_CONFIG,
    REPO_DIR,
    check_error,
    data_options,
)

CHECKER = os.path.join(REPO_DIR, 'tools', 'misc', 'check_dataset.py')


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp('clean') / 'shapes'
    make_shapes_dataset(str(root), num_train=6, num_val=4, size=96, seed=5)
    return root


@pytest.fixture
def faulty(tmp_path, clean):
    """A copy of the clean dataset and a function to edit its train json."""
    root = tmp_path / 'shapes'
    shutil.copytree(clean, root)
    ann = root / 'instances_train.json'

    def edit(change):
        data = json.loads(ann.read_text())
        change(data)
        ann.write_text(json.dumps(data))

    return root, edit


def scan(root, split='train', decode=True):
    path = root / f'instances_{split}.json'
    return scan_coco(
        json.loads(path.read_text()), str(path), str(root), decode
    )


def test_clean_dataset_has_no_faults(clean):
    report = scan(clean)
    assert dict(report.faults) == {} and report.num_images == 6


def test_every_kind_of_fault_is_found(faulty):
    root, edit = faulty
    images = sorted((root / 'train').iterdir())
    images[0].unlink()  # missing
    images[1].write_bytes(b'')  # 0 bytes
    data = images[2].read_bytes()
    images[2].write_bytes(data[: len(data) // 3])  # truncated
    images[3].write_bytes(b'not an image at all')  # corrupt

    def change(d):
        d['images'][4]['width'] = 500  # size mismatch
        # boxes on the one image left intact (id 5)
        anns = [a for a in d['annotations'] if a['image_id'] == 5]
        anns += [dict(a, id=1000 + i) for i, a in enumerate(anns * 6)]
        anns[0]['bbox'] = [1, 2, 3]
        anns[1]['bbox'] = [1, 2, float('nan'), 4]
        anns[2]['bbox'] = [10, 10, -5, 4]
        anns[3]['bbox'] = [80, 80, 40, 40]
        anns[4]['category_id'] = 99
        anns[5]['image_id'] = 12345
        d['annotations'] = anns

    edit(change)
    report = scan(root)
    assert set(report.faults) == {
        'missing_image',
        'empty_image',
        'corrupt_image',
        'size_mismatch',
        'malformed_box',
        'degenerate_box',
        'box_outside_image',
        'unknown_category',
        'unknown_image_id',
    }
    assert len(report.faults['corrupt_image']) == 2  # truncated + garbage
    assert len(report.faults['malformed_box']) == 2  # 3 numbers, NaN
    summary = report.summary()
    assert str(images[0]) in summary and 'error' in summary
    assert 'warning' in summary


def check(root, *options):
    """tools/misc/check_dataset.py on a dataset's train split."""
    return subprocess.run(
        [
            sys.executable,
            CHECKER,
            '--ann-file',
            str(root / 'instances_train.json'),
            '--img-dir',
            str(root),
            *options,
        ],
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_checker_cli_progress_summary_and_exit_code(faulty, clean):
    root, edit = faulty
    ok = check(clean)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert 'no faults found' in ok.stdout and '6/6' in ok.stdout
    edit(lambda d: d['annotations'][0].update(bbox=[1, 2]))
    bad = check(root)
    assert bad.returncode == 1
    assert 'bbox is not 4 finite numbers' in bad.stdout


@pytest.mark.slow
def test_checker_cli_reads_the_config(tmp_path, clean):
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"_base_ = '{DEMO_CONFIG}'\n"
        f"data_root = '{clean}/'\n"
        'train_dataloader = dict(dataset=dict(dataset=dict('
        'data_root=data_root)))\n'
        'val_dataloader = dict(dataset=dict(data_root=data_root))\n'
        'test_dataloader = val_dataloader\n'
    )
    out = subprocess.run(
        [sys.executable, CHECKER, str(config), '--splits', 'train', 'val'],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'instances_train.json' in out.stdout
    assert 'instances_val.json' in out.stdout


@pytest.mark.parametrize(
    'fault,words',
    [
        (
            'missing_image',
            ['image file missing', '00002.jpg', 'check_dataset'],
        ),
        ('empty_split', ['no images or no annotations']),
        ('malformed_box', ['bbox is not 4 finite numbers', '[1, 2, 3]']),
    ],
)
def test_train_refuses_at_start_up(tmp_path, capsys, faulty, fault, words):
    root, edit = faulty
    if fault == 'missing_image':
        (root / 'train' / '00002.jpg').unlink()
    elif fault == 'empty_split':
        edit(lambda d: d.update(annotations=[]))
    else:
        edit(lambda d: d['annotations'][0].update(bbox=[1, 2, 3]))
    check_error(tmp_path, capsys, data_options(f'{root}/'), *words)


def _all_boxes(change):
    def apply(d):
        for ann in d['annotations']:
            change(ann)

    return apply


def _first_image(change):
    return lambda d: change(d['images'][0])


# Faults that passed both the checker and the start-up checks, then trained
# on nothing, dropped data, or crashed after the work dir existed.
SILENT_FAULTS = {
    'zero-area boxes': (
        _all_boxes(lambda a: a.update(area=0)),
        'no box mmdet would train on',
    ),
    'boxes under 1 px': (
        _all_boxes(lambda a: a['bbox'].__setitem__(2, 0.5)),
        'no box mmdet would train on',
    ),
    'duplicate image id': (
        lambda d: d['images'][1].update(id=d['images'][0]['id']),
        'image id used twice',
    ),
    'missing area': (
        lambda d: d['annotations'][0].pop('area'),
        "without 'area'",
    ),
    'duplicate annotation id': (
        lambda d: d['annotations'][1].update(id=d['annotations'][0]['id']),
        'annotation id used twice',
    ),
    'missing width': (
        _first_image(lambda i: i.pop('width')),
        'width/height missing',
    ),
    'string height': (
        _first_image(lambda i: i.update(height='96')),
        'width/height missing',
    ),
    'mixed category ids': (
        lambda d: d['categories'][0].update(id=str(d['categories'][0]['id'])),
        'category id that is not an int',
    ),
    'all images below min_size': (  # the demo config's min_size is 8
        lambda d: [
            [i.update(width=6, height=6) for i in d['images']],
            [a.update(bbox=[0, 0, 2, 2], area=4) for a in d['annotations']],
        ],
        "no image passes the dataset's filter_cfg",
    ),
    'non-object image': (
        lambda d: d['images'].append('00001.jpg'),
        'not an object',
    ),
    'list category id': (
        lambda d: d['categories'][0].update(id=[1]),
        'category id that is not an int',
    ),
    # mmdet reads iscrowd as a truth value: '0' ignores every box
    'string iscrowd': (
        _all_boxes(lambda a: a.update(iscrowd='0')),
        'iscrowd that is not the int 0 or 1',
    ),
    'every box a crowd': (
        _all_boxes(lambda a: a.update(iscrowd=1)),
        'no box mmdet would train on',
    ),
    # pycocotools merges 0 and 0.0: one image's boxes on another
    'image ids 0 and 0.0': (
        lambda d: _set_image_ids(d, {0: 0, 1: 0.0}),
        'image id that is not an int',
    ),
    # COCOeval sorts the ids at the end of the first evaluation
    'int and str image ids': (
        lambda d: _set_image_ids(d, {0: 'first'}),
        'int and str ids mixed',
    ),
    # the label map shifts: one class trained as another
    'duplicate category id': (
        lambda d: d['categories'][1].update(id=d['categories'][0]['id']),
        'category id used twice',
    ),
    'string area': (
        lambda d: d['annotations'][0].update(area='100'),
        "'area' that is not a finite number",
    ),
}


def _set_image_ids(data, new_ids):
    """Give the images at the given positions new ids, their boxes too."""
    for position, new in new_ids.items():
        image = data['images'][position]
        for ann in data['annotations']:
            if ann['image_id'] == image['id']:
                ann['image_id'] = new
        image['id'] = new


@pytest.mark.slow
@pytest.mark.parametrize('name', list(SILENT_FAULTS))
def test_silent_faults_stop_training_before_the_work_dir(
    tmp_path, capsys, faulty, name
):
    root, edit = faulty
    change, words = SILENT_FAULTS[name]
    edit(change)
    check_error(tmp_path, capsys, data_options(f'{root}/'), words)
    # ... and the checker names it (and does not crash on it).
    out = check(root, '--no-decode')
    if name != 'all images below min_size':  # needs the config's filter
        assert out.returncode == 1, out.stderr[-2000:]
        assert words in out.stdout


def test_exif_turned_image_is_an_error(tmp_path, capsys, faulty):
    """mmcv decodes a JPEG with its EXIF orientation applied, the boxes stay
    in the stored pixels: the checker and the tools say so, unless the
    pipeline ignores orientations."""
    import mmcv
    from PIL import Image

    from mixdet.cli.config_check import applies_exif

    root, edit = faulty
    path = root / 'train' / '00002.jpg'
    with Image.open(path) as image:
        exif = Image.Exif()
        exif[0x0112] = 6  # turned 90 degrees
        image.crop((0, 0, 96, 64)).save(path, exif=exif)
    edit(lambda d: d['images'][2].update(width=96, height=64))
    stored = Image.open(path).size
    decoded = mmcv.imread(str(path)).shape[:2][::-1]
    assert decoded == stored[::-1] != stored  # mmcv turns it
    out = check(root)
    assert out.returncode == 1
    assert 'EXIF orientation' in out.stdout and '00002.jpg' in out.stdout
    check_error(tmp_path, capsys, data_options(f'{root}/'), 'EXIF', '00002')
    assert not applies_exif(
        dict(
            pipeline=[
                dict(
                    type='LoadImageFromFile',
                    color_type='color_ignore_orientation',
                )
            ]
        )
    )
    assert applies_exif(dict(pipeline=[dict(type='LoadImageFromFile')]))


def test_test_tool_refuses_an_empty_val_set(tmp_path, capsys, faulty):
    root, _ = faulty
    val = root / 'instances_val.json'
    data = json.loads(val.read_text())
    data['annotations'] = []
    val.write_text(json.dumps(data))
    checkpoint = tmp_path / 'fake.pth'
    checkpoint.write_bytes(b'unused')
    check_error(
        tmp_path,
        capsys,
        data_options(f'{root}/'),
        'no images or no annotations',
        tool='test.py',
        args=[str(checkpoint)],
    )


def test_unreadable_image_is_named_when_met(tmp_path):
    """The hint comes as a note on mmcv's own exception, whose type
    callers catch (mmcv's test_load_img expects FileNotFoundError)."""
    from mmcv.transforms import LoadImageFromFile

    import mixdet  # noqa: F401  (names unreadable images)

    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not an image')
    missing = tmp_path / 'missing.jpg'
    for path, kind in ((bad, Exception), (missing, FileNotFoundError)):
        with pytest.raises(kind) as info:
            LoadImageFromFile()(dict(img_path=str(path)))
        assert type(info.value) is not RuntimeError
        (note,) = info.value.__notes__
        assert str(path) in note
        assert 'tools/misc/check_dataset.py' in note
