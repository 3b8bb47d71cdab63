"""Let OpenMMLab's ``mim`` see an editable install of mixdet.

    python tools/setup/link_for_mim.py          # after pip install -e .
    python tools/setup/link_for_mim.py --remove

``mim`` looks for a package in ``site-packages/<name>/`` (its
``.mim/model-index.yml``, configs and tools). A normal install puts mixdet
there; an editable install (``pip install -e .``, PEP 660) puts only an
import hook, so ``mim list`` leaves mixdet out and ``mim search mixdet``
fails. This links ``site-packages/mixdet`` to this checkout's ``mixdet/``:
imports still come from the checkout, as in editable mode. ``make setup``
runs it; ``--remove`` takes the link away (``pip uninstall`` does not).
"""

import argparse
import os
import sys
import sysconfig

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--remove',
        action='store_true',
        help="remove the link (only one to this checkout's mixdet/)",
    )
    args = parser.parse_args(argv)
    source = os.path.join(REPO, 'mixdet')
    link = os.path.join(sysconfig.get_paths()['purelib'], 'mixdet')
    try:
        return _remove(link, source) if args.remove else _link(link, source)
    except OSError as error:  # a read-only site-packages
        print(
            f'error: cannot change {link}: {error.strerror}; run it with '
            'the rights to write site-packages, or skip it (only mim needs '
            'the link)',
            file=sys.stderr,
        )
        return 1


def _remove(link: str, source: str) -> int:
    """Remove ``link`` if it is a link to ``source``."""
    if not os.path.islink(link):
        print(f'{link} is not a link: nothing to remove')
        return 0
    if os.path.realpath(link) != os.path.realpath(source):
        print(
            f'error: {link} links to {os.path.realpath(link)}, another '
            'checkout: left alone (remove it from that checkout)',
            file=sys.stderr,
        )
        return 1
    os.remove(link)
    print(f'removed {link}')
    return 0


def _link(link: str, source: str) -> int:
    """Link ``link`` to ``source`` unless something else is there."""
    if os.path.islink(link):
        if os.path.realpath(link) != os.path.realpath(source):
            print(
                f'error: {link} links to {os.path.realpath(link)}, not this '
                f'checkout; run link_for_mim.py --remove in that checkout '
                f'(or rm {link}) first',
                file=sys.stderr,
            )
            return 1
        return 0
    if os.path.exists(link):
        print(f'{link} is a normal install: mim sees it already')
        return 0
    os.symlink(source, link)
    print(f'linked {link} -> {source} (for mim)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
