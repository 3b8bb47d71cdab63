"""A small, deterministic COCO-format detection dataset of drawn shapes.

Shapes of four classes, with random size, aspect, rotation and colour, on
cluttered textured backgrounds, partly occluding each other. A detector has
to learn them: a randomly initialised one scores about 0 mAP.
"""

import json
import os
import shutil
import tempfile

import cv2
import numpy as np

SHAPE_CLASSES = ('ellipse', 'rectangle', 'triangle', 'cross')
SHAPE_PALETTE = [(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48)]


def _background(rng: np.random.RandomState, size: int) -> np.ndarray:
    """Muted gradient + noise + clutter lines and blobs."""
    base = rng.randint(60, 190, 3).astype(np.float32)
    ramp = np.linspace(-30, 30, size, dtype=np.float32)
    img = base + (
        ramp[:, None, None] if rng.rand() < 0.5 else ramp[None, :, None]
    )
    img = img + rng.normal(0, 12, (size, size, 3)).astype(np.float32)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.randint(4, 12)):  # clutter in muted colours
        colour = tuple(
            int(c) for c in np.clip(base + rng.randint(-50, 50, 3), 0, 255)
        )
        p1, p2 = rng.randint(0, size, 2), rng.randint(0, size, 2)
        if rng.rand() < 0.6:
            cv2.line(
                img,
                tuple(map(int, p1)),
                tuple(map(int, p2)),
                colour,
                int(rng.randint(1, 4)),
            )
        else:
            cv2.circle(
                img, tuple(map(int, p1)), int(rng.randint(3, 12)), colour, -1
            )
    return img


def _polygon(
    cls: str, cx: float, cy: float, w: float, h: float, angle: float
) -> np.ndarray:
    """Outline points of a rotated shape."""
    if cls == 'ellipse':
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        pts = np.stack([np.cos(t) * w / 2, np.sin(t) * h / 2], 1)
    elif cls == 'rectangle':
        pts = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    elif cls == 'triangle':
        pts = np.array([[0, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    else:  # cross
        a, b = w / 2, w / 6
        c, d = h / 2, h / 6
        pts = np.array(
            [
                [-b, -c],
                [b, -c],
                [b, -d],
                [a, -d],
                [a, d],
                [b, d],
                [b, c],
                [-b, c],
                [-b, d],
                [-a, d],
                [-a, -d],
                [-b, -d],
            ]
        )
    rot = np.array(
        [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    )
    return pts @ rot.T + np.array([cx, cy])


def draw_image(
    rng: np.random.RandomState,
    size: int,
    max_objects: int = 4,
    min_visible: float = 0.6,
) -> tuple[np.ndarray, list]:
    """One image and its objects as (class index, [x1, y1, x2, y2]).

    A shape may hide part of an earlier one, but each keeps at least
    ``min_visible`` of its area visible.
    """
    img = _background(rng, size)
    owner = np.full((size, size), -1, np.int32)  # which object owns a pixel
    areas: list[int] = []
    objects = []
    for _ in range(rng.randint(1, max_objects + 1)):
        for _attempt in range(20):
            cls = int(rng.randint(len(SHAPE_CLASSES)))
            scale = rng.uniform(0.14, 0.5) * size
            aspect = rng.uniform(0.6, 1.6)
            w, h = scale * aspect**0.5, scale / aspect**0.5
            angle = rng.uniform(-0.5, 0.5) if cls != 0 else rng.uniform(0, 3)
            cx, cy = rng.uniform(0.1, 0.9, 2) * size
            pts = np.round(
                _polygon(SHAPE_CLASSES[cls], cx, cy, w, h, angle)
            ).astype(np.int32)
            mask = np.zeros((size, size), np.uint8)
            cv2.fillPoly(mask, [pts], 1)
            mask = mask.astype(bool)
            ys, xs = np.nonzero(mask)
            if (
                len(xs) == 0
                or np.ptp(xs) < 0.1 * size
                or np.ptp(ys) < 0.1 * size
            ):
                continue
            kept = np.bincount(
                owner[~mask & (owner >= 0)], minlength=len(areas)
            )
            if all(
                kept[j] >= min_visible * areas[j] for j in range(len(areas))
            ):
                break
        else:
            continue
        owner[mask] = len(areas)
        areas.append(int(mask.sum()))
        hsv = np.uint8(
            [
                [
                    [
                        rng.randint(0, 180),
                        rng.randint(150, 256),
                        rng.randint(150, 256),
                    ]
                ]
            ]
        )
        colour = tuple(
            int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
        )
        cv2.fillPoly(img, [pts], colour, lineType=cv2.LINE_AA)
        if rng.rand() < 0.5:  # a darker outline on some shapes
            cv2.polylines(
                img, [pts], True, tuple(c // 2 for c in colour), 2, cv2.LINE_AA
            )
        box = [
            float(xs.min()),
            float(ys.min()),
            float(xs.max() + 1),
            float(ys.max() + 1),
        ]
        objects.append((cls, box))
    return img, objects


def write_split(
    out_dir: str, split: str, num_images: int, size: int, seed: int
) -> str:
    """Write ``{split}/*.jpg`` and ``instances_{split}.json``."""
    rng = np.random.RandomState(seed)
    os.makedirs(os.path.join(out_dir, split), exist_ok=True)
    images, annotations = [], []
    for index in range(num_images):
        img, objects = draw_image(rng, size)
        name = f'{split}/{index:05d}.jpg'
        cv2.imwrite(
            os.path.join(out_dir, name), img, [cv2.IMWRITE_JPEG_QUALITY, 92]
        )
        images.append(dict(id=index, file_name=name, width=size, height=size))
        for cls, (x1, y1, x2, y2) in objects:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index,
                    category_id=cls + 1,
                    iscrowd=0,
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    area=(x2 - x1) * (y2 - y1),
                )
            )
    categories = [
        dict(id=i + 1, name=n, supercategory='shape')
        for i, n in enumerate(SHAPE_CLASSES)
    ]
    path = os.path.join(out_dir, f'instances_{split}.json')
    with open(path, 'w') as f:
        json.dump(
            dict(
                images=images, annotations=annotations, categories=categories
            ),
            f,
        )
    return path


def make_shapes_dataset(
    out_dir: str,
    num_train: int = 600,
    num_val: int = 100,
    size: int = 320,
    seed: int = 0,
) -> str:
    """Write the dataset to ``out_dir`` (all or nothing) and return it.

    Args:
        out_dir: Folder to create; it must not exist yet.
        num_train: Training images.
        num_val: Validation images.
        size: Image side in pixels.
        seed: Seed; the same arguments always give the same files.
    """
    if num_train < 1 or num_val < 1 or size < 64:
        raise ValueError(
            'num_train and num_val must be >= 1 and size >= 64, '
            f'got {num_train}, {num_val}, {size}'
        )
    if os.path.exists(out_dir):
        raise FileExistsError(f'{out_dir} already exists')
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix='.shapes-')
    try:
        write_split(tmp, 'train', num_train, size, seed)
        write_split(tmp, 'val', num_val, size, seed + 1)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
