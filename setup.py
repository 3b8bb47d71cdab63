"""mixdet's build: setup.cfg holds the metadata. Like mmdet's setup.py, it
puts the configs, tools and model index inside the package as
``mixdet/.mim/`` (links to the repository's), so that OpenMMLab's ``mim``
finds them (``mim list``, ``mim search mixdet``, ``mim train mixdet
CONFIG``); a wheel holds copies of them."""

import os

from setuptools import setup

MIM_FILES = ('configs', 'tools', 'model-index.yml')


def add_mim_extension() -> None:
    """Link ``mixdet/.mim/<name>`` to the repository's ``<name>``."""
    root = os.path.dirname(os.path.abspath(__file__))
    mim = os.path.join(root, 'mixdet', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        source = os.path.join(root, name)
        target = os.path.join(mim, name)
        if not os.path.exists(source) or os.path.lexists(target):
            continue  # a link made before, or a folder of one's own
        os.symlink(os.path.relpath(source, mim), target)


add_mim_extension()
setup()
