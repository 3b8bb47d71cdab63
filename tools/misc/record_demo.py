"""Record a `make demo` run as the README's demo table.

    python tools/misc/record_demo.py work_dirs/demo/metrics.json
    python tools/misc/record_demo.py --check   # exit 1 if the README differs

Copies the run's COCO metrics (``tools/test.py``'s ``metrics.json``) to
``docs/demo_metrics.json`` and writes the README's demo table from that
file: each figure of the table has one home, the file a run wrote.
"""

import argparse
import json
import os
import sys

from mixdet.checkpoint.atomic import atomic_write_text

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
RECORD = os.path.join(REPO, 'docs', 'demo_metrics.json')
README = os.path.join(REPO, 'README.md')
START = '<!-- demo table: tools/misc/record_demo.py -->'
END = '<!-- end of demo table -->'
COLUMNS = (
    ('bbox mAP', 'coco/bbox_mAP'),
    ('mAP@0.5', 'coco/bbox_mAP_50'),
    ('mAP@0.75', 'coco/bbox_mAP_75'),
    ('mAP_s', 'coco/bbox_mAP_s'),
    ('mAP_m', 'coco/bbox_mAP_m'),
    ('mAP_l', 'coco/bbox_mAP_l'),
)


def demo_table(metrics: dict) -> str:
    """The README's table of a run's ``metrics``."""
    head = '| ' + ' | '.join(name for name, _ in COLUMNS) + ' |'
    rule = '|' + '---:|' * len(COLUMNS)
    row = '| ' + ' | '.join(f'{metrics[key]:.3f}' for _, key in COLUMNS) + ' |'
    return '\n'.join([head, rule, row])


def readme_with_table(readme: str, metrics: dict) -> str:
    """``readme`` with the text between the demo-table markers replaced."""
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f'{before}{START}\n{demo_table(metrics)}\n{END}{after}'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'metrics', nargs='?', help="a demo run's metrics.json (tools/test.py)"
    )
    parser.add_argument(
        '--check',
        action='store_true',
        help='only check that the README shows docs/demo_metrics.json',
    )
    args = parser.parse_args(argv)
    if args.check == (args.metrics is not None):
        parser.error('give either METRICS or --check')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with open(README) as f:
        readme = f.read()
    if args.check:
        with open(RECORD) as f:
            metrics = json.load(f)['metrics']
        if readme_with_table(readme, metrics) != readme:
            print(
                f'error: the README demo table differs from {RECORD}; run '
                'tools/misc/record_demo.py METRICS',
                file=sys.stderr,
            )
            return 1
        return 0
    with open(args.metrics) as f:
        run = json.load(f)
    metrics = {key: run['metrics'][key] for _, key in COLUMNS}
    atomic_write_text(
        RECORD,
        json.dumps(dict(config=run.get('config'), metrics=metrics), indent=2)
        + '\n',
    )
    atomic_write_text(README, readme_with_table(readme, metrics))
    print(f'wrote {RECORD} and the README demo table')
    return 0


if __name__ == '__main__':
    sys.exit(main())
