"""The package's layers: no import runs up them (docs/layout.md)."""

import ast
import os

from .helpers import REPO_DIR

# Lower layers never import higher ones; a layer may import itself.
LAYERS = {
    'mixdet.version': 0,
    'mixdet.paper': 0,
    'mixdet.ops': 0,
    'mixdet.models.layers': 1,
    'mixdet.models': 2,  # backbones, task_modules
    'mixdet.converters': 3,
    'mixdet.engine': 3,
    'mixdet.scope': 3,  # registers mmdet's and mixdet's modules
    'mixdet.compat': 4,
    'mixdet.complexity': 4,
    'mixdet.deployment': 4,
    'mixdet.end_to_end': 4,
    'mixdet.evaluate_onnx': 4,
    'mixdet.quantization': 4,
    'mixdet.swap': 4,
    'mixdet.testing': 4,
    'mixdet.cli': 5,
}


def layer(module: str) -> int:
    """The layer of ``module``: its longest prefix in LAYERS."""
    parts = module.split('.')
    for end in range(len(parts), 0, -1):
        name = '.'.join(parts[:end])
        if name in LAYERS:
            return LAYERS[name]
    raise AssertionError(f'{module} is in no layer: add it to LAYERS')


def imports(path: str, module: str) -> list[tuple[int, str]]:
    """(line, imported mixdet module) for every import in the file, also
    those inside functions and TYPE_CHECKING blocks."""
    package = module if path.endswith('__init__.py') else module.rpartition(
        '.'
    )[0]
    found = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[: len(base) - node.level + 1]
                root = '.'.join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ''
            names = [root] if node.module else [
                f'{root}.{a.name}' for a in node.names
            ]
        else:
            continue
        found += [(node.lineno, n) for n in names if n.startswith('mixdet')]
    return found


def test_no_import_runs_up_the_layers():
    wrong = []
    top = os.path.join(REPO_DIR, 'mixdet')
    for folder, _, files in os.walk(top):
        for name in files:
            if not name.endswith('.py'):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, REPO_DIR)[: -len('.py')]
            module = rel.replace(os.sep, '.').removesuffix('.__init__')
            if module == 'mixdet':  # the package imports everything
                continue
            for line, target in imports(path, module):
                if layer(target) > layer(module):
                    wrong.append(f'{rel}.py:{line} imports {target}')
    assert not wrong, '\n'.join(wrong)
