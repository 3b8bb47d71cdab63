"""Scan a COCO-format dataset for faults before training on it.

    python tools/misc/check_dataset.py CONFIG [--splits train val test]
    python tools/misc/check_dataset.py --ann-file A.json --img-dir DIR

Reports missing, empty, corrupt or truncated images, width/height that
disagree with the file, malformed, degenerate or out-of-image boxes,
unknown categories and image ids, and empty splits: a progress bar while
it decodes every image, then a summary. Exits 1 if any error was found
(faults that break training), 0 otherwise (warnings: data mmdet would
drop silently).
"""

import argparse
import os
import sys

from mmengine.utils import track_iter_progress

from mixdet.cli.coco_check import scan_coco
from mixdet.cli.config_check import check_coco_file, dataset_sources
from mixdet.utils import ConfigError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', help='a detection config')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=['train', 'val', 'test'],
        default=['train', 'val', 'test'],
        help='which dataloaders of the config to scan',
    )
    parser.add_argument('--ann-file', help='a COCO json (instead of CONFIG)')
    parser.add_argument('--img-dir', help='images of --ann-file')
    parser.add_argument(
        '--no-decode',
        action='store_true',
        help='only check that image files exist (fast)',
    )
    args = parser.parse_args(argv)
    if (args.config is None) == (args.ann_file is None):
        parser.error('give either CONFIG or --ann-file (with --img-dir)')
    if args.ann_file is not None and args.img_dir is None:
        parser.error('--ann-file needs --img-dir')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.config is not None:
            from mmengine.config import Config

            if not os.path.isfile(args.config):
                raise ConfigError(f'config {args.config!r} does not exist')
            sources = dataset_sources(
                Config.fromfile(args.config), args.splits
            )
        else:
            sources = [('--ann-file', args.ann_file, args.img_dir, None, True)]
        if not sources:
            raise ConfigError(
                f'the config has no COCO dataset in {args.splits}'
            )
        loaded = [
            (*source, check_coco_file(source[1], source[0]))
            for source in sources
        ]
    except ConfigError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    failed = False
    seen = set()
    for where, ann, img_dir, filter_cfg, exif, data in loaded:
        if (ann, img_dir, repr(filter_cfg)) in seen:  # val and test alike
            continue
        seen.add((ann, img_dir, repr(filter_cfg)))
        print(f'{where}: scanning {len(data["images"])} images in {img_dir}')
        report = scan_coco(
            data,
            ann,
            img_dir,
            decode=not args.no_decode,
            progress=track_iter_progress if data['images'] else None,
            filter_cfg=filter_cfg,
            exif=exif,
        )
        print(report.summary())
        failed |= bool(report.errors)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
