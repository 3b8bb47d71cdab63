"""Draw a detector's predictions on a few images into one PNG grid.

    python tools/misc/show_predictions.py CONFIG CHECKPOINT \
        --images data/shapes/val [more.jpg 'photos/*.png'] --num 8 \
        [--score-thr 0.3] [--classes a b c] [--cfg-options k=v ...] \
        --out predictions.png

``--images`` takes files, folders (their .jpg/.jpeg/.png/.bmp files) and
glob patterns. The class names come from ``--classes``, else the
checkpoint's (a checkpoint trained on your own classes fits the config's
head by itself), else the config's. Each image keeps its aspect ratio in
its grid cell.
"""

import argparse
import glob
import os
import sys
import warnings

import cv2
import numpy as np

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.checkpoint.atomic import atomic_write_bytes, check_output_path
from mixdet.cli.checkpoint_fit import (
    checkpoint_classes,
    fitting_state_dict,
    read_whole_checkpoint,
    saved_dataset_meta,
)
from mixdet.cli.own_data import set_num_classes
from mixdet.cli.tool_config import add_cfg_options_argument, add_force_argument
from mixdet.utils import ConfigError

IMAGE_TYPES = ('.jpg', '.jpeg', '.png', '.bmp')


def draw(
    image: np.ndarray,
    boxes,
    labels,
    scores,
    classes,
    palette,
    score_thr: float,
) -> np.ndarray:
    """Boxes with class name and score on a copy of a BGR image: each
    label on a filled tag of its class colour, moved down where it would
    cover an earlier tag (readable on small images)."""
    image = image.copy()
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.35
    tags: list[tuple[int, int, int, int]] = []
    kept = [i for i, score in enumerate(scores) if score >= score_thr]
    for i in sorted(kept, key=lambda i: -float(scores[i])):
        label = int(labels[i])
        x1, y1, x2, y2 = (int(round(float(v))) for v in boxes[i])
        r, g, b = palette[label % len(palette)]
        cv2.rectangle(image, (x1, y1), (x2, y2), (b, g, r), 1)
        name = classes[label] if label < len(classes) else str(label)
        text = f'{name} {float(scores[i]):.2f}'
        (tw, th), base = cv2.getTextSize(text, font, scale, 1)
        w, h = tw + 4, th + base + 2
        # above the box, or inside it at the top edge; never past the
        # right or bottom edge; below any tag it would cover
        x = max(0, min(x1, image.shape[1] - w))
        y = y1 - h if y1 - h >= 0 else y1
        while _covers(tags, (x, y, w, h)) and y + h < image.shape[0]:
            y += 1
        y = min(y, image.shape[0] - h)
        tags.append((x, y, w, h))
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), (b, g, r), -1)
        ink = (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (
            255, 255, 255)  # fmt: skip
        cv2.putText(image, text, (x + 2, y + th + 1), font, scale, ink, 1,
                    cv2.LINE_AA)  # fmt: skip
    return image


def _covers(tags: list, tag: tuple) -> bool:
    """Whether ``tag`` (x, y, w, h) overlaps one of ``tags``."""
    x, y, w, h = tag
    return any(
        x < a + c and a < x + w and y < b + d and b < y + h
        for a, b, c, d in tags
    )


def dataset_meta(checkpoint_meta: dict, cfg) -> dict:
    """The class names and palette to draw with.

    Args:
        checkpoint_meta: The checkpoint's ``meta``.
        cfg: The config the model was built from.

    Returns:
        The checkpoint's ``dataset_meta``, else the ``metainfo`` of the
        config's test set (e.g. converted weights on a custom-class
        config), else mmdet's COCO class names.
    """
    meta = saved_dataset_meta(checkpoint_meta)
    if meta.get('classes'):
        return meta
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return dict(metainfo)
    from mmdet.evaluation import get_classes

    return {'classes': get_classes('coco')}


def find_images(specs: list[str]) -> list[str]:
    """The images that files, folders and glob patterns name, in order
    (each folder's and pattern's sorted); ConfigError naming a spec that
    names none."""
    paths = []
    for spec in specs:
        if os.path.isdir(spec):
            found = sorted(
                os.path.join(spec, name)
                for name in os.listdir(spec)
                if name.lower().endswith(IMAGE_TYPES)
            )
        elif glob.has_magic(spec):
            found = sorted(
                p for p in glob.glob(spec) if p.lower().endswith(IMAGE_TYPES)
            )
        else:
            found = [spec] if os.path.isfile(spec) else []
        if not found:
            raise ConfigError(
                f'--images {spec!r}: no such image, folder of images or '
                f'pattern matching any ({", ".join(IMAGE_TYPES)})'
            )
        paths += [p for p in found if p not in paths]
    return paths


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size`` (h, w) with its aspect ratio, on a
    black cell."""
    h, w = size
    scale = min(h / image.shape[0], w / image.shape[1])
    new = (
        max(1, round(image.shape[1] * scale)),
        max(1, round(image.shape[0] * scale)),
    )
    cell = np.zeros((h, w, 3), np.uint8)
    top, left = (h - new[1]) // 2, (w - new[0]) // 2
    cell[top : top + new[1], left : left + new[0]] = cv2.resize(image, new)
    return cell


def grid(tiles: list[np.ndarray], cols: int = 4) -> np.ndarray:
    """Tiles in rows of ``cols``, each in a cell as large as the largest
    tile, keeping its aspect ratio."""
    size = (max(t.shape[0] for t in tiles), max(t.shape[1] for t in tiles))
    cells = [letterbox(t, size) for t in tiles]
    cols = min(cols, len(cells))
    while len(cells) % cols:
        cells.append(np.zeros_like(cells[0]))
    rows = [np.hstack(cells[i : i + cols]) for i in range(0, len(cells), cols)]
    return np.vstack(rows)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        help='the detector config',
    )
    parser.add_argument(
        'checkpoint',
        help='the trained checkpoint',
    )
    parser.add_argument(
        '--images',
        nargs='+',
        required=True,
        help='image files, folders or glob patterns (the first --num)',
    )
    parser.add_argument(
        '--num', type=int, default=8, help='images to draw (default 8)'
    )
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='draw boxes scoring at least this (default 0.3)',
    )
    parser.add_argument(
        '--classes',
        nargs='+',
        help="class names (default: the checkpoint's, else the config's)",
    )
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--out', default='predictions.png', help='the picture to write'
    )
    add_force_argument(parser, '--out')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        for path, what in (
            (args.config, 'config'),
            (args.checkpoint, 'checkpoint'),
        ):
            if not os.path.isfile(path):
                raise ConfigError(f'{what} {path!r} does not exist')
        if args.num < 1:
            raise ConfigError(f'--num {args.num}: expected at least 1')
        if not 0 <= args.score_thr < float('inf'):  # NaN too
            raise ConfigError(
                f'--score-thr {args.score_thr}: expected a finite number >= 0'
            )
        paths = find_images(args.images)[: args.num]
        check_output_path(
            args.out,
            (*paths, args.config, args.checkpoint),
            args.force,
            name='--out',
        )
        extension = os.path.splitext(args.out)[1].lower()
        if extension not in ('.png', '.jpg', '.jpeg', '.bmp', '.webp'):
            raise ConfigError(
                f'--out {args.out!r} must end with .png, .jpg, .jpeg, .bmp '
                'or .webp'
            )
        loaded = read_whole_checkpoint(args.checkpoint)
        classes = tuple(args.classes or checkpoint_classes(loaded))
        twice = sorted({c for c in classes if classes.count(c) > 1})
        if twice:
            raise ConfigError(f'--classes names {twice} more than once')
        model = build_model(args.config, args.cfg_options, classes)
        state, meta = fitting_state_dict(
            model, args.checkpoint, args.config, loaded
        )
    except (ConfigError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    model.load_state_dict(state, strict=True)
    model.dataset_meta = dataset_meta(meta, model.cfg)
    if classes:
        model.dataset_meta['classes'] = classes
    from mmdet.apis import inference_detector

    classes = model.dataset_meta['classes']
    palette = model.dataset_meta.get('palette') or [(255, 0, 0)]
    tiles, empty, best = [], 0, 0.0
    for path in paths:
        image = cv2.imread(path)
        pred = inference_detector(model, path).pred_instances
        scores = pred.scores
        best = max([best] + [float(v) for v in scores])
        empty += not bool((scores >= args.score_thr).any())
        tiles.append(
            draw(
                image,
                pred.bboxes,
                pred.labels,
                scores,
                classes,
                palette,
                args.score_thr,
            )
        )
    if empty:
        print(
            f'no box scored --score-thr {args.score_thr} or more in {empty} '
            f'of {len(paths)} images (highest score {best:.2f})'
        )
    encoded, data = cv2.imencode(extension, grid(tiles))
    try:
        if not encoded:
            raise OSError(f'cannot encode the picture as {extension}')
        atomic_write_bytes(args.out, data.tobytes())
    except OSError as error:  # a full disk: the old picture stays
        print(
            f'error: --out {args.out!r} not written: {error}', file=sys.stderr
        )
        return 1
    print(f'wrote {args.out}')
    return 0


def build_model(config: str, cfg_options, classes: tuple):
    """The detector of ``config`` (with ``--cfg-options``), its heads sized
    for ``classes`` when given, on the CPU, weights not yet loaded."""
    from mmdet.apis import init_detector
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if classes:
        set_num_classes(cfg.model, len(classes))
    with warnings.catch_warnings(record=True) as caught:
        model = init_detector(cfg, None, device='cpu')
    for warning in caught:
        # Not "checkpoint is None, use COCO classes": the weights and the
        # class names (dataset_meta) are loaded next.
        if 'checkpoint is None' not in str(warning.message):
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
            )
    return model


if __name__ == '__main__':
    sys.exit(main())
