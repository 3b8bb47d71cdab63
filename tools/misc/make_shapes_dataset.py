"""Write the embedded demo dataset (COCO format) of drawn shapes.

python tools/misc/make_shapes_dataset.py data/shapes
"""

import argparse
import sys

from mixdet.cli.shapes import make_shapes_dataset


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='folder to create')
    parser.add_argument('--num-train', type=int, default=600)
    parser.add_argument('--num-val', type=int, default=100)
    parser.add_argument('--size', type=int, default=320)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
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
