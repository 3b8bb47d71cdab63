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
    'missing_image': 'image file missing',
    'empty_image': 'image file is empty (0 bytes)',
    'corrupt_image': 'image file cannot be decoded (corrupt or truncated)',
    'malformed_box': 'bbox is not 4 finite numbers',
    'unknown_image_id': 'annotation for an image_id not in images',
}
# Faults mmdet survives by dropping data silently.
WARNINGS = {
    'size_mismatch': 'width/height in the JSON differ from the image',
    'degenerate_box': 'bbox with zero or negative width or height',
    'box_outside_image': 'bbox reaches outside the image',
    'unknown_category': 'annotation with a category_id not in categories',
}
# What the tools check at start-up: no image is opened.
CHEAP = ('empty_split', 'missing_image', 'malformed_box', 'unknown_image_id')
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


def _box_fault(bbox: object) -> Optional[str]:
    if (
        not isinstance(bbox, (list, tuple))
        or len(bbox) != 4
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for v in bbox
        )
        or not all(math.isfinite(v) for v in bbox)
    ):
        return 'malformed_box'
    if bbox[2] <= 0 or bbox[3] <= 0:
        return 'degenerate_box'
    return None


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
) -> Report:
    """Check a loaded COCO annotation dict against its images.

    Args:
        data: The parsed annotation file.
        ann_file: Its path (for messages).
        img_dir: Where ``file_name`` is relative to.
        decode: Open and decode every image (size mismatch, corruption);
            without it only file existence is checked.
        progress: Wraps the image loop, e.g. a progress bar.
    """
    report = Report(ann_file)
    images = data.get('images') or []
    annotations = data.get('annotations') or []
    report.num_images, report.num_annotations = len(images), len(annotations)
    if not images or not annotations:
        report.add(
            'empty_split',
            f'{len(images)} images, {len(annotations)} annotations',
        )
    categories = {c.get('id') for c in data.get('categories') or []}
    sizes = {}
    loop = progress(images) if progress else images
    for image in loop:
        name = str(image.get('file_name'))
        path = os.path.join(img_dir, name)
        if not os.path.isfile(path):
            report.add('missing_image', path)
            continue
        if decode:
            if os.path.getsize(path) == 0:
                report.add('empty_image', path)
                continue
            try:
                actual = image_size(path)
            except Exception as error:  # PIL raises many kinds
                report.add('corrupt_image', f'{path} ({error})')
                continue
            stated = (image.get('width'), image.get('height'))
            if stated != actual:
                report.add(
                    'size_mismatch',
                    f'{name}: JSON {stated[0]}x{stated[1]}, '
                    f'file {actual[0]}x{actual[1]}',
                )
        sizes[image.get('id')] = (image.get('width'), image.get('height'))
    ids = {image.get('id') for image in images}
    for ann in annotations:
        where = f'annotation id {ann.get("id")}'
        if ann.get('image_id') not in ids:
            report.add('unknown_image_id', f'{where}: {ann.get("image_id")}')
            continue
        if ann.get('category_id') not in categories:
            report.add(
                'unknown_category', f'{where}: {ann.get("category_id")}'
            )
        bbox = ann.get('bbox')
        fault = _box_fault(bbox)
        if fault:
            report.add(fault, f'{where}: {bbox!r}')
            continue
        width, height = sizes.get(ann['image_id'], (None, None))
        if isinstance(width, (int, float)) and isinstance(
            height, (int, float)
        ):
            x, y, w, h = bbox
            if x < 0 or y < 0 or x + w > width or y + h > height:
                report.add(
                    'box_outside_image',
                    f'{where}: {bbox!r} in {width}x{height}',
                )
    return report
