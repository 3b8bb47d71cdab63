"""Walking an mmdet config's datasets: one place that knows the wrappers
(``RepeatDataset``, ``ClassBalancedDataset``, mixdet's ``SeededDataset``
...), which keep the dataset they wrap under ``dataset``."""

from typing import Any


def wrapped_datasets(cfg: Any, loader: str) -> list[tuple[str, dict]]:
    """``(where, dataset config)`` for ``loader``'s dataset and each one it
    wraps, outermost first (``[]`` when the loader has none).

    Args:
        cfg: An mmengine ``Config`` (or a dict).
        loader: ``'train_dataloader'``, ``'val_dataloader'`` or
            ``'test_dataloader'``.
    """
    found = []
    where = f'{loader}.dataset'
    dataset = (cfg.get(loader) or {}).get('dataset')
    while isinstance(dataset, dict):
        found.append((where, dataset))
        dataset, where = dataset.get('dataset'), f'{where}.dataset'
    return found


def inner_dataset(cfg: Any, loader: str) -> tuple[dict, int]:
    """The dataset config of ``loader`` inside its wrappers, and how many
    times they repeat it (``({}, 1)`` when the loader has none)."""
    chain = wrapped_datasets(cfg, loader)
    times = 1
    for _, dataset in chain[:-1]:
        times *= int(dataset.get('times', 1))
    return (chain[-1][1] if chain else {}), times
