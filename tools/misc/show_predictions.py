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
from mixdet.cli import ConfigError
from mixdet.cli.checkpoint_fit import (
    fitting_state_dict,
    read_whole_checkpoint,
)
from mixdet.cli.own_data import set_num_classes
from mixdet.cli.tool_config import add_cfg_options_argument
from mixdet.engine.atomic import check_output_path

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
    """Boxes with class name and score on a copy of a BGR image."""
    image = image.copy()
    for box, label, score in zip(boxes, labels, scores):
        if score < score_thr:
            continue
        label = int(label)
        x1, y1, x2, y2 = (int(round(float(v))) for v in box)
        r, g, b = palette[label % len(palette)]
        cv2.rectangle(image, (x1, y1), (x2, y2), (b, g, r), 2)
        name = classes[label] if label < len(classes) else str(label)
        text = f'{name} {float(score):.2f}'
        font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
        (tw, th), _ = cv2.getTextSize(text, font, scale, 1)
        # above the box, or inside it when the box touches the top edge;
        # never past the right edge
        y = y1 - 3 if y1 - 3 - th >= 0 else y1 + th + 3
        x = max(0, min(x1 + 2, image.shape[1] - tw - 1))
        cv2.putText(
            image, text, (x, y), font, scale, (b, g, r), 1, cv2.LINE_AA
        )
    return image


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


def saved_dataset_meta(checkpoint_meta: dict) -> dict:
    """The checkpoint's ``dataset_meta``, keys in lower case (mmdet 2's
    checkpoints say ``CLASSES``)."""
    saved = checkpoint_meta.get('dataset_meta') or {}
    return {key.lower(): value for key, value in saved.items()}


def checkpoint_classes(loaded: object) -> tuple:
    """The class names a Runner checkpoint was trained with, or ()."""
    meta = loaded.get('meta') if isinstance(loaded, dict) else None
    return tuple(saved_dataset_meta(meta or {}).get('classes') or ())


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--images',
        nargs='+',
        required=True,
        help='image files, folders or glob patterns (the first --num)',
    )
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument(
        '--classes',
        nargs='+',
        help="class names (default: the checkpoint's, else the config's)",
    )
    add_cfg_options_argument(parser)
    parser.add_argument('--out', default='predictions.png')
    args = parser.parse_args(argv)
    try:
        for path, what in (
            (args.config, 'config'),
            (args.checkpoint, 'checkpoint'),
        ):
            if not os.path.isfile(path):
                raise ConfigError(f'{what} {path!r} does not exist')
        paths = find_images(args.images)[: args.num]
        check_output_path(
            args.out, (*paths, args.config, args.checkpoint), name='--out'
        )
        loaded = read_whole_checkpoint(args.checkpoint)
        classes = tuple(args.classes or checkpoint_classes(loaded))
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
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    cv2.imwrite(args.out, grid(tiles))
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
