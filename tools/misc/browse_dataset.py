"""Draw a config's images as its pipeline delivers them, with their boxes.

    python tools/misc/browse_dataset.py CONFIG --output-dir vis \
        [--split train] [--num 20] [--cfg-options k=v ...]

Each image is drawn once, also where the config repeats its dataset
(``RepeatDataset``, as the SSDLite configs do, where mmdet's own
``browse_dataset.py`` runs through every repeat): the tool browses the
dataset inside the wrappers, through the training pipeline with its random
augmentation, ground-truth boxes and class names drawn.
"""

import argparse
import os
import sys

from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.checkpoint.atomic import check_output_path
from mixdet.cli.tool_config import add_cfg_options_argument, add_force_argument
from mixdet.utils import inner_dataset


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        help='the config whose dataloaders to draw',
    )
    parser.add_argument(
        '--output-dir', required=True, help='folder for the drawn images'
    )
    add_force_argument(parser, 'drawn images in --output-dir')
    parser.add_argument(
        '--split',
        choices=('train', 'val', 'test'),
        help='which dataloader (default: train)',
    )
    parser.add_argument(
        '--num', type=int, default=20, help='images to draw (default 20)'
    )
    add_cfg_options_argument(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    split = args.split or 'train'
    if not os.path.isfile(args.config):
        print(f'error: config {args.config!r} does not exist', file=sys.stderr)
        return 1
    if args.num < 1:
        print(f'error: --num must be >= 1, got {args.num}', file=sys.stderr)
        return 1
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        print(
            f'error: --output-dir {args.output_dir!r} is a file',
            file=sys.stderr,
        )
        return 1
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)

    from mmdet.registry import DATASETS, VISUALIZERS
    from mmdet.utils import register_all_modules
    from mmengine.utils import ProgressBar

    register_all_modules()
    dataset = DATASETS.build(inner_dataset(cfg, f'{split}_dataloader')[0])
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    count = min(args.num, len(dataset))
    outputs = [
        os.path.join(
            args.output_dir,
            os.path.basename(dataset.get_data_info(i)['img_path']),
        )
        for i in range(count)
    ]
    inputs = [dataset.get_data_info(i)['img_path'] for i in range(count)]
    try:
        for out, image in zip(outputs, inputs):
            check_output_path(out, (image,), args.force, '--output-dir file')
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    os.makedirs(args.output_dir, exist_ok=True)
    print(
        f'{split}: drawing {count} of {len(dataset)} images into '
        f'{args.output_dir}'
    )
    progress = ProgressBar(count)
    for index in range(count):
        item = dataset[index]
        sample = item['data_samples']
        boxes = sample.gt_instances.get('bboxes')
        if hasattr(boxes, 'tensor'):  # mmdet's box type: its tensor
            sample.gt_instances.bboxes = boxes.tensor
        image = item['inputs'].permute(1, 2, 0).numpy()[..., ::-1]  # RGB
        name = os.path.basename(sample.img_path)
        visualizer.add_datasample(
            name,
            image,
            data_sample=sample,
            draw_pred=False,
            show=False,
            out_file=os.path.join(args.output_dir, name),
        )
        progress.update()
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
