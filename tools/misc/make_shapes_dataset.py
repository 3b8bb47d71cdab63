"""Write the embedded demo dataset (COCO format) of drawn shapes.

python tools/misc/make_shapes_dataset.py data/shapes
"""

import argparse
import sys

from mixdet.testing.shapes import make_shapes_dataset


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='folder to create')
    parser.add_argument(
        '--num-train',
        type=int,
        default=600,
        help='training images',
    )
    parser.add_argument(
        '--num-val',
        type=int,
        default=100,
        help='validation images',
    )
    parser.add_argument(
        '--size',
        type=int,
        default=320,
        help='side of each square image in pixels',
    )
    parser.add_argument(
        '--seed',
        type=int,
        default=0,
        help='random seed (the same seed gives the same files)',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        make_shapes_dataset(
            args.out_dir, args.num_train, args.num_val, args.size, args.seed
        )
    except (ValueError, FileExistsError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(
        f'wrote {args.out_dir}: {args.num_train} train and {args.num_val} '
        'val images with instances_train.json / instances_val.json'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
