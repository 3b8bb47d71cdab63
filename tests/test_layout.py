"""The package's layers: no import runs up them (docs/layout.md)."""

import ast
import os

from .helpers import REPO_DIR

# Lower layers never import higher ones; a layer may import itself.
LAYERS = {
    'mixdet.version': 0,
    'mixdet.utils': 0,  # ConfigError and the config walk: for every layer
    'mixdet.analysis.paper': 0,
    'mixdet.ops': 0,
    'mixdet.checkpoint': 0,  # checkpoint files: mmengine and torch only
    'mixdet.models.layers': 1,
    'mixdet.models': 2,  # backbones, task_modules
    'mixdet.converters': 3,
    'mixdet.engine': 3,
    'mixdet.scope': 3,  # registers mmdet's and mixdet's modules
    'mixdet.compat': 4,
    'mixdet.analysis': 4,
    'mixdet.deploy': 4,
    'mixdet.swap': 4,
    'mixdet.testing': 4,
    'mixdet.cli': 5,
}
# The modules at the top of mixdet/, each an entry point of its own.
TOP_LEVEL = {
    '__init__.py': 'import mixdet',
    'version.py': "the package's version",
    'compat.py': 'the upstream fixes, applied at import',
    'scope.py': "building in mmdet's registry scope, used by every layer",
    'swap.py': 'putting a mixdet backbone into any mmdet config',
}


def layer(module: str) -> int:
    """The layer of ``module``: its longest prefix in LAYERS."""
    parts = module.split('.')
    for end in range(len(parts), 0, -1):
        name = '.'.join(parts[:end])
        if name in LAYERS:
            return LAYERS[name]
    raise AssertionError(f'{module} is in no layer: add it to LAYERS')


def imports(
    path: str, module: str, top_only: bool = False
) -> list[tuple[int, str]]:
    """(line, imported mixdet module) for every import in the file, also
    those inside functions and TYPE_CHECKING blocks (``top_only``: only
    the statements at the top of the file, which run at import)."""
    package = (
        module if path.endswith('__init__.py') else module.rpartition('.')[0]
    )
    found = []
    tree = ast.parse(open(path).read())
    for node in tree.body if top_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[: len(base) - node.level + 1]
                root = '.'.join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ''
            names = (
                [root]
                if node.module
                else [f'{root}.{a.name}' for a in node.names]
            )
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



def module_of(name: str, modules: set) -> str:
    """The module ``name`` (a module or an object in one) lives in."""
    while name not in modules and '.' in name:
        name = name.rpartition('.')[0]
    return name


def test_no_import_circle_at_import_time():
    """The imports that run when a module is imported (its top-level
    ones; those inside functions run later) form no circle."""
    paths = {}
    for folder, _, files in os.walk(os.path.join(REPO_DIR, 'mixdet')):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, REPO_DIR)[: -len('.py')]
                module = rel.replace(os.sep, '.').removesuffix('.__init__')
                paths[module] = path
    edges = {
        module: {
            module_of(target, set(paths))
            for _, target in imports(path, module, top_only=True)
        }
        - {module}
        for module, path in paths.items()
    }
    state, circles = {}, []

    def visit(module, trail):
        state[module] = 'open'
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 'open':
                circles.append(' -> '.join(trail + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 'done'

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not circles, '\n'.join(circles)


def test_top_of_the_package_holds_only_entry_points():
    top = os.path.join(REPO_DIR, 'mixdet')
    loose = sorted(
        name
        for name in os.listdir(top)
        if name.endswith('.py') and name not in TOP_LEVEL
    )
    assert not loose, f'put {loose} in a package (docs/layout.md)'
