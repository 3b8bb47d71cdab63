"""Build in mmdet's registry scope, whatever scope the process is in.

An mmengine ``Runner`` (or any tool) leaves ``DefaultScope`` at its own
scope, ``'mmengine'`` by default; a registry ``build`` then looks types up
in that scope's root registry, where neither mmdet's nor mixdet's modules
are. Every place mixdet builds or looks something up does it inside
:func:`mmdet_scope`, which restores the process's scope afterwards.
"""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def mmdet_scope() -> Iterator[None]:
    """Register mmdet's (and mixdet's) modules and make ``'mmdet'`` the
    default scope inside the ``with`` block only."""
    from mmdet.utils import register_all_modules
    from mmengine.registry import DefaultScope

    import mixdet.models  # noqa: F401  (registers mixdet's modules)

    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
