"""Draw a detector's predictions on a few images into one PNG grid.

    python tools/misc/show_predictions.py CONFIG CHECKPOINT \
        --images data/shapes/val --num 8 --out predictions.png
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
from mixdet.cli.checkpoint_fit import fitting_state_dict
from mixdet.engine.atomic import check_output_path


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
    saved = checkpoint_meta.get('dataset_meta') or {}
    meta = {key.lower(): value for key, value in saved.items()}
    if meta.get('classes'):
        return meta
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    metainfo = dataset.get('metainfo') or {}
    if metainfo.get('classes'):
        return dict(metainfo)
    from mmdet.evaluation import get_classes

    return {'classes': get_classes('coco')}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--images',
        required=True,
        help='folder of images (the first --num are used)',
    )
    parser.add_argument('--num', type=int, default=8)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--out', default='predictions.png')
    args = parser.parse_args(argv)
    paths = sorted(
        glob.glob(os.path.join(args.images, '*.jpg'))
        + glob.glob(os.path.join(args.images, '*.png'))
    )[: args.num]
    for path, what in (
        (args.config, 'config'),
        (args.checkpoint, 'checkpoint'),
    ):
        if not os.path.isfile(path):
            print(f'error: {what} {path!r} does not exist', file=sys.stderr)
            return 1
    if not paths:
        print(
            f'error: no .jpg/.png images in {args.images!r}', file=sys.stderr
        )
        return 1
    try:
        check_output_path(
            args.out, (*paths, args.config, args.checkpoint), name='--out'
        )
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1

    from mmdet.apis import inference_detector, init_detector

    with warnings.catch_warnings(record=True) as caught:
        model = init_detector(args.config, None, device='cpu')
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
    try:
        state, meta = fitting_state_dict(model, args.checkpoint, args.config)
    except ConfigError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    model.load_state_dict(state, strict=True)
    model.dataset_meta = dataset_meta(meta, model.cfg)
    classes = model.dataset_meta['classes']
    palette = model.dataset_meta.get('palette') or [(255, 0, 0)]
    tiles = []
    for path in paths:
        image = cv2.imread(path)
        pred = inference_detector(model, path).pred_instances
        tiles.append(
            draw(
                image,
                pred.bboxes,
                pred.labels,
                pred.scores,
                classes,
                palette,
                args.score_thr,
            )
        )
    h, w = tiles[0].shape[:2]
    tiles = [cv2.resize(t, (w, h)) for t in tiles]
    cols = min(4, len(tiles))
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    cv2.imwrite(args.out, np.vstack(rows))
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
