"""Find the faults of a COCO-format detection dataset before training.

mmdet meets a missing or corrupt image only when its turn comes, and drops
boxes with a bad size, outside the image or of an unknown category without
a word. :func:`scan_coco` lists them all at once.
"""

import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

# Faults that break training or evaluation: the tools refuse to start.
ERRORS = {
    'empty_split': 'split has no images or no annotations',
    'malformed_entry': 'an image, annotation or category that is not an '
    'object',
    'bad_category_id': 'category id that is not an int',
    'duplicate_category_id': 'category id used twice (the label map '
    'shifts: one class is trained as another); give each category its own '
    'id',
    'bad_image_id': 'image id that is not an int, or int and str ids mixed '
    '(pycocotools merges 0 and 0.0; COCOeval cannot sort int and str); '
    'use int ids',
    'duplicate_image_id': 'image id used twice (mmdet keeps one of them)',
    'bad_image_size': 'image width/height missing or not a positive number',
    'duplicate_annotation_id': 'annotation id used twice (mmdet refuses)',
    'missing_area': "annotation without 'area' (mmdet reads it)",
    'malformed_area': "annotation 'area' that is not a finite number "
    '(write the number, e.g. the box width x height)',
    'bad_iscrowd': 'iscrowd that is not the int 0 or 1 (mmdet ignores a box '
    "whose iscrowd is truthy: the string '0' drops it); write 0 or 1",
    'exif_rotated': 'image with an EXIF orientation: mmcv decodes it turned '
    'or mirrored, the boxes stay where they were; save it upright (PIL '
    'ImageOps.exif_transpose) and annotate that, or load with color_type='
    "'color_ignore_orientation'",
    'missing_image': 'image file missing',
    'empty_image': 'image file is empty (0 bytes)',
    'corrupt_image': 'image file cannot be decoded (corrupt or truncated)',
    'malformed_box': 'bbox is not 4 finite numbers',
    'unknown_image_id': 'annotation for an image_id not in images',
    'no_usable_box': 'no box mmdet would train on (every one is dropped)',
    'no_usable_image': "no image passes the dataset's filter_cfg "
    '(min_size, filter_empty_gt)',
}
# Faults mmdet survives by dropping data silently.
WARNINGS = {
    'size_mismatch': 'width/height in the JSON differ from the image',
    'degenerate_box': 'bbox narrower or lower than 1 pixel, or area <= 0 '
    '(mmdet drops it)',
    'box_outside_image': 'bbox reaches outside the image',
    'unknown_category': 'annotation with a category_id not in categories',
}
# What the tools check at start-up: no image is opened.
CHEAP = (
    'empty_split',
    'malformed_entry',
    'bad_category_id',
    'duplicate_category_id',
    'bad_image_id',
    'duplicate_image_id',
    'bad_image_size',
    'duplicate_annotation_id',
    'missing_area',
    'malformed_area',
    'bad_iscrowd',
    'exif_rotated',
    'missing_image',
    'malformed_box',
    'unknown_image_id',
    'no_usable_box',
    'no_usable_image',
)
CHECKER = 'tools/misc/check_dataset.py'


@dataclass
class Report:
    """Faults found, by kind, each with a few examples."""

    ann_file: str
    num_images: int = 0
    num_annotations: int = 0
    faults: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, example: str) -> None:
        self.faults[kind].append(example)

    @property
    def errors(self) -> dict:
        return {k: v for k, v in self.faults.items() if k in ERRORS}

    @property
    def warnings(self) -> dict:
        return {k: v for k, v in self.faults.items() if k in WARNINGS}

    def summary(self, examples: int = 3) -> str:
        """One line per kind of fault: count, meaning and examples."""
        lines = [
            f'{self.ann_file}: {self.num_images} images, '
            f'{self.num_annotations} annotations'
        ]
        for kind, found in sorted(self.faults.items()):
            level = 'error' if kind in ERRORS else 'warning'
            meaning = ERRORS.get(kind) or WARNINGS[kind]
            shown = '; '.join(found[:examples])
            more = (
                f' (+{len(found) - examples} more)'
                if len(found) > examples
                else ''
            )
            lines.append(f'  {level}: {len(found)} x {meaning}: {shown}{more}')
        if len(lines) == 1:
            lines.append('  no faults found')
        return '\n'.join(lines)


def _number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _box_fault(ann: dict) -> Optional[str]:
    """The fault of an annotation's box that mmdet drops or trips on."""
    bbox = ann.get('bbox')
    if (
        not isinstance(bbox, (list, tuple))
        or len(bbox) != 4
        or not all(_number(v) for v in bbox)
    ):
        return 'malformed_box'
    if 'area' not in ann:
        return 'missing_area'
    if not _number(ann['area']):
        return 'malformed_area'
    if bbox[2] < 1 or bbox[3] < 1 or not ann['area'] > 0:
        return 'degenerate_box'
    return None


def _entries(data: dict, key: str, report: 'Report') -> list[dict]:
    """``data[key]``'s objects; anything else is a ``malformed_entry``."""
    entries = data.get(key) or []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            report.add('malformed_entry', f'{key}[{i}]: {entry!r:.40}')
    return [e for e in entries if isinstance(e, dict)]


def _duplicates(entries: list[dict]) -> list:
    """The ids that more than one entry has (compared as values, as
    pycocotools' dicts do: 0 and 0.0 are one id)."""
    seen, twice = set(), []
    for entry in entries:
        key = entry.get('id')
        if not _hashable(key):
            key = repr(key)  # unhashable ids are still ids
        if key in seen:
            twice.append(entry.get('id'))
        seen.add(key)
    return twice


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _image_id_faults(images: list[dict]) -> list[str]:
    """Image ids that are not ints (bools and floats such as ``0.0``
    included), or a mix of int and str ids."""
    ids = [image.get('id') for image in images]
    kinds = {type(i) for i in ids if type(i) in (int, str)}
    faults = [
        f'{image.get("file_name")}: {image.get("id")!r}'
        for image in images
        if type(image.get('id')) not in (int, str)
    ]
    if len(kinds) > 1:
        first = next(i for i in ids if type(i) is str)
        faults.append(f'int and str ids mixed, e.g. {first!r}')
    return faults


# EXIF tag 274: 1 is upright; 2-8 are mirrored and/or turned.
_ORIENTATION = 0x0112


def exif_orientation(path: str) -> int:
    """The EXIF orientation of an image file (1 where it has none); reads
    the header only."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return int(image.getexif().get(_ORIENTATION, 1) or 1)
    except Exception:  # unreadable: reported by the decoding check
        return 1


def image_size(path: str) -> tuple[int, int]:
    """(width, height) of a fully decoded image; raises if it cannot be."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()  # decodes every byte: a truncated file raises here
        return image.size


def scan_coco(
    data: dict,
    ann_file: str,
    img_dir: str,
    decode: bool = True,
    progress: Optional[Callable[[Iterable], Iterable]] = None,
    filter_cfg: Optional[dict] = None,
    exif: bool = True,
) -> Report:
    """Check a loaded COCO annotation dict against its images.

    Args:
        data: The parsed annotation file.
        ann_file: Its path (for messages).
        img_dir: Where ``file_name`` is relative to.
        decode: Open and decode every image (size mismatch, corruption);
            without it only file existence is checked.
        progress: Wraps the image loop, e.g. a progress bar.
        filter_cfg: The training dataset's ``filter_cfg`` (``min_size``,
            ``filter_empty_gt``), to find a split mmdet would empty.
        exif: Whether the pipeline applies EXIF orientations (mmcv's
            default ``color_type='color'`` does): images that carry one are
            then reported (their boxes would be misplaced).
    """
    report = Report(ann_file)
    images = _entries(data, 'images', report)
    annotations = _entries(data, 'annotations', report)
    categories = _entries(data, 'categories', report)
    report.num_images, report.num_annotations = len(images), len(annotations)
    if not images or not annotations:
        report.add(
            'empty_split',
            f'{len(images)} images, {len(annotations)} annotations',
        )
    for category in categories:
        key = category.get('id')
        if isinstance(key, bool) or not isinstance(key, int):
            report.add('bad_category_id', f'{category.get("name")}: {key!r}')
    category_ids = {c.get('id') for c in categories if _hashable(c.get('id'))}
    for key in _duplicates(categories):
        report.add('duplicate_category_id', repr(key))
    for fault in _image_id_faults(images):
        report.add('bad_image_id', fault)
    for key in _duplicates(images):
        report.add('duplicate_image_id', repr(key))
    for key in _duplicates(annotations):
        report.add('duplicate_annotation_id', repr(key))
    sizes = {}
    loop = progress(images) if progress else images
    for image in loop:
        name = str(image.get('file_name'))
        stated = (image.get('width'), image.get('height'))
        if not all(_number(v) and v > 0 for v in stated):
            report.add(
                'bad_image_size', f'{name}: {stated[0]!r}x{stated[1]!r}'
            )
            stated = None
        if _hashable(image.get('id')):
            sizes[image.get('id')] = stated
        path = os.path.join(img_dir, name)
        if not os.path.isfile(path):
            report.add('missing_image', path)
            continue
        orientation = exif_orientation(path) if exif else 1
        if orientation != 1:
            report.add('exif_rotated', f'{path} (orientation {orientation})')
        if decode:
            if os.path.getsize(path) == 0:
                report.add('empty_image', path)
                continue
            try:
                actual = image_size(path)
            except Exception as error:  # PIL raises many kinds
                report.add('corrupt_image', f'{path} ({error})')
                continue
            if stated is not None and tuple(stated) != actual:
                report.add(
                    'size_mismatch',
                    f'{name}: JSON {stated[0]}x{stated[1]}, '
                    f'file {actual[0]}x{actual[1]}',
                )
    with_box = set()
    for ann in annotations:
        where = f'annotation id {ann.get("id")}'
        image_id = ann.get('image_id')
        if not _hashable(image_id) or image_id not in sizes:
            report.add('unknown_image_id', f'{where}: {image_id!r}')
            continue
        known = (
            _hashable(ann.get('category_id'))
            and ann.get('category_id') in category_ids
        )
        if not known:
            report.add(
                'unknown_category', f'{where}: {ann.get("category_id")!r}'
            )
        crowd = ann.get('iscrowd', 0)
        if type(crowd) is not int or crowd not in (0, 1):
            report.add('bad_iscrowd', f'{where}: iscrowd={crowd!r}')
            continue
        fault = _box_fault(ann)
        if fault:
            report.add(fault, f'{where}: {ann.get("bbox")!r}')
            continue
        if sizes[image_id] is not None:
            width, height = sizes[image_id]
            x, y, w, h = ann['bbox']
            if x < 0 or y < 0 or x + w > width or y + h > height:
                report.add(
                    'box_outside_image',
                    f'{where}: {ann["bbox"]!r} in {width}x{height}',
                )
            if min(x + w, width) - max(x, 0) <= 0 or (
                min(y + h, height) - max(y, 0) <= 0
            ):
                continue  # wholly outside: mmdet drops it
        if known and not ann.get('ignore', False) and not crowd:
            with_box.add(image_id)
    if annotations and not with_box:
        report.add(
            'no_usable_box',
            f'0 of {len(annotations)} annotations are kept by mmdet '
            '(crowd and ignored boxes are not trained on)',
        )
    _check_filter(report, sizes, with_box, filter_cfg or {})
    return report


def _check_filter(
    report: Report, sizes: dict, with_box: set, filter_cfg: dict
) -> None:
    """An error if mmdet's ``filter_cfg`` drops every image."""
    min_size = filter_cfg.get('min_size', 0) or 0
    empty_gt = filter_cfg.get('filter_empty_gt', False)
    kept = [
        image_id
        for image_id, size in sizes.items()
        if size is not None
        and min(size) >= min_size
        and (not empty_gt or image_id in with_box)
    ]
    if sizes and not kept and (min_size or empty_gt):
        report.add(
            'no_usable_image',
            f'0 of {len(sizes)} images pass min_size={min_size}'
            + (', filter_empty_gt=True' if empty_gt else ''),
        )
