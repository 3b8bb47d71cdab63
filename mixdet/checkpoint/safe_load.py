"""Load checkpoints as plain data: tensors, numbers, strings, containers.

torch's ``weights_only=True`` unpickler refuses everything that is not a
tensor or a builtin container, including the numpy arrays and mmengine
``HistoryBuffer`` objects of every Runner checkpoint. Allow-listing the real
``numpy.ndarray`` / ``numpy.dtype`` / ``HistoryBuffer`` would let a crafted
file call their constructors with its own arguments (an object array built
from raw pointer bytes; a buffer whose state rebinds class attributes).

So :func:`load_checkpoint_file` maps each global a Runner checkpoint names to
a *stand-in* that records plain data and validates it:

- ``numpy.*._reconstruct`` + ``numpy.ndarray``: an :class:`ArrayState` whose
  state must be a numeric dtype, a shape and exactly the bytes it needs; the
  array is rebuilt with ``np.frombuffer``.
- ``numpy.dtype``: a :class:`DTypeState` for numeric dtypes only (bool, int,
  uint, float, complex); object, string, void and datetime are refused.
- ``numpy.*.scalar``: a numeric scalar from a :class:`DTypeState` and bytes.
- ``mmengine...HistoryBuffer``: a :class:`HistoryBufferState` that takes
  ``max_length`` and two 1-D numeric arrays of equal length; a real
  ``HistoryBuffer`` is rebuilt from them. Its pickled
  ``statistics_methods`` (custom ones too) are names, and are ignored: no
  class state changes.
- any other global the pickle names: an inert :class:`Reference` (a name,
  never imported or called). Only :data:`RESOLVABLE` names (mmengine's
  OneCycle annealing functions) become the real object; a reference
  anywhere else refuses the file. ``getattr`` only builds longer names.
- a call of :data:`ALLOCATING_CALLS` (``bytearray(N)``, uninitialised
  tensors and storages) and zip records that inflate beyond their size are
  refused before anything is unpickled (:mod:`.pickle_scan`).

The stand-ins are active only inside :func:`load_checkpoint_file`, and only
in the thread that calls it: torch's unpickler reads its user allow-list
through a function that answers with the stand-ins there and with torch's
own list everywhere else. So other code's ``add_safe_globals`` /
``safe_globals`` (in any thread) and the hash seed cannot change what is
admitted, and ``torch.load`` elsewhere in the process behaves as without
mixdet. The config text mmengine would execute (:data:`CONFIG_TEXT_KEYS`)
is removed.
"""

import contextlib
import functools
import importlib
import logging
import math
import os
import pickle
import re
import threading
import zipfile
from typing import IO, Any, Callable, Iterator, Optional, Union

import numpy as np
import torch
from mmengine.logging import print_log

from .pickle_scan import scan_checkpoint

# numpy dtype codes a checkpoint may use: bool, ints, uints, floats, complex.
NUMERIC_DTYPES = frozenset(
    'b1 i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8 f16 c8 c16 c32'.split()
)
STATISTICS_METHODS = ('min', 'max', 'current', 'mean')


class CheckpointRefused(pickle.UnpicklingError):
    """A checkpoint holds something beyond plain data."""


def _refuse(message: str) -> CheckpointRefused:
    return CheckpointRefused(f'refused checkpoint content: {message}')


# Fixed-width strings (class names in ``dataset_meta`` as a numpy array):
# 'U<n>' (4 bytes a character) and 'S<n>' (bytes), n up to this.
MAX_STRING_LENGTH = 1 << 16
_STRING_DTYPE = re.compile(r'^[US]([1-9][0-9]{0,5})$')


def _string_dtype(code: Any) -> Optional[np.dtype]:
    match = _STRING_DTYPE.match(code) if isinstance(code, str) else None
    if match and int(match[1]) <= MAX_STRING_LENGTH:
        return np.dtype(code)
    return None


class DTypeState:
    """Stand-in for ``numpy.dtype(code, align, copy)``: numeric and
    fixed-width string dtypes only."""

    value = None  # stays None if a crafted file skips __init__

    def __init__(self, code: str, align: bool = False, copy: bool = True):
        if isinstance(code, str) and code in NUMERIC_DTYPES:
            self.value = np.dtype(code)
        else:
            self.value = _string_dtype(code)
        if self.value is None:
            raise _refuse(
                f'numpy dtype {code!r} (allowed: {sorted(NUMERIC_DTYPES)}, '
                "'U<n>', 'S<n>')"
            )

    def __setstate__(self, state: Any) -> None:
        # A numeric dtype pickles (3, byteorder, None, None, None, -1, -1, 0);
        # a string one (3, byteorder, None, None, None, size, align, flags).
        if self.value is not None and self.value.kind in 'US':
            tail = (
                self.value.itemsize,
                self.value.alignment,
                self.value.flags,
            )
        else:
            tail = (-1, -1, 0)
        if (
            not isinstance(state, tuple)
            or len(state) != 8
            or state[0] not in (3, 4)
            or state[1] not in ('<', '>', '|', '=')
            or state[2:] != (None, None, None, *tail)
            or self.value is None
        ):
            raise _refuse(f'numpy dtype state {state!r}')
        if state[1] in '<>':
            self.value = self.value.newbyteorder(state[1])


def _dtype_of(value: Any) -> np.dtype:
    if not isinstance(value, DTypeState) or value.value is None:
        raise _refuse(f'{type(value).__name__} where a numpy dtype belongs')
    return value.value


class ArrayToken:
    """Stands for the class ``numpy.ndarray`` in ``_reconstruct(...)``."""

    def __new__(cls, *args, **kwargs):
        raise _refuse('numpy.ndarray may only be rebuilt from its bytes')


class ArrayState:
    """Stand-in for an ``np.ndarray`` being unpickled: numeric bytes only."""

    value: np.ndarray

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) != 5:
            raise _refuse('malformed numpy array state')
        _, shape, dtype, fortran, data = state
        dtype = _dtype_of(dtype)
        if (
            not isinstance(shape, tuple)
            or not all(type(d) is int and d >= 0 for d in shape)
            or not isinstance(fortran, bool)
            or not isinstance(data, (bytes, bytearray))
        ):
            raise _refuse('malformed numpy array state')
        if math.prod(shape) * dtype.itemsize != len(data):
            raise _refuse(
                f'numpy array of shape {shape} and dtype {dtype} needs '
                f'{math.prod(shape) * dtype.itemsize} bytes, got {len(data)}'
            )
        array = np.frombuffer(bytes(data), dtype=dtype)
        self.value = array.reshape(shape, order='F' if fortran else 'C').copy()


def reconstruct(cls: Any, shape: Any, typecode: Any) -> ArrayState:
    """Stand-in for ``numpy.core.multiarray._reconstruct``."""
    if cls is not ArrayToken or shape != (0,) or typecode != b'b':
        raise _refuse('numpy _reconstruct of anything but an ndarray')
    return ArrayState()


def scalar(dtype: Any, data: Any = b'') -> np.generic:
    """Stand-in for ``numpy.core.multiarray.scalar``: numeric scalars."""
    dtype = _dtype_of(dtype)
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise _refuse(f'numpy scalar of dtype {dtype} from {data!r}')
    return np.frombuffer(bytes(data), dtype=dtype)[0]


class HistoryBufferState:
    """Stand-in for mmengine's ``HistoryBuffer``: its plain data only."""

    def __new__(cls, *args, **kwargs):
        if args or kwargs:
            raise _refuse('HistoryBuffer built with arguments')
        return super().__new__(cls)

    def __setstate__(self, state: Any) -> None:
        keys = {'max_length', '_log_history', '_count_history'}
        if not isinstance(state, dict) or not keys <= state.keys() <= keys | {
            'statistics_methods'
        }:
            raise _refuse(f'HistoryBuffer state with keys {list(state)}')
        # The class-wide statistics methods, pickled with every buffer:
        # names only (custom ones from register_statistics too), ignored.
        methods = state.get('statistics_methods', {})
        if not isinstance(methods, dict) or not all(
            isinstance(k, str) and isinstance(v, Reference)
            for k, v in methods.items()
        ):
            raise _refuse(
                'HistoryBuffer statistics_methods that are not names'
            )
        self.max_length = state['max_length']
        self.log_history = state['_log_history']
        self.count_history = state['_count_history']

    def build(self) -> Any:
        """A real ``HistoryBuffer`` holding the validated data."""
        from mmengine.logging import HistoryBuffer

        arrays = (self.log_history, self.count_history)
        if (
            type(self.max_length) is not int
            or self.max_length < 1
            or not all(isinstance(a, ArrayState) for a in arrays)
            or any(a.value.ndim != 1 for a in arrays)
            or len(arrays[0].value) != len(arrays[1].value)
        ):
            raise _refuse('HistoryBuffer data is not two 1-D arrays')
        buffer = HistoryBuffer(max_length=self.max_length)
        buffer._log_history = arrays[0].value
        buffer._count_history = arrays[1].value
        return buffer


class Reference:
    """A class or function a checkpoint names, held by its name only: never
    imported, never called. After loading, a reference is either resolved
    (only the names in :data:`RESOLVABLE`) or dropped where it is inert (a
    ``HistoryBuffer``'s pickled statistics methods); anywhere else the file
    is refused, naming it. An object of the class it names (pickle's
    NEWOBJ: an ``argparse.Namespace``, a dataclass, a namedtuple) becomes
    an :class:`ObjectState`."""

    def __new__(cls, *args, **kwargs):
        if isinstance(cls, Reference):  # NEWOBJ: ``cls.__new__(cls, *args)``
            return ObjectState(cls.name, args)
        return super().__new__(cls)

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise _refuse(f'a call of {self.name}')

    def __repr__(self) -> str:
        return f'Reference({self.name!r})'


class ObjectState:
    """An object of a class a checkpoint names, as data: the class name,
    its constructor arguments and its state. Only :data:`PLAIN_BAGS` are
    rebuilt (from plain values); any other is refused, naming its class."""

    def __init__(self, name: str, args: tuple):
        self.name, self.args, self.state = name, args, None

    def __setstate__(self, state: Any) -> None:
        self.state = state


# Classes that are only a bag of attributes: a training script's ``args``.
PLAIN_BAGS = ('argparse.Namespace',)


def _rebuild_object(obj: ObjectState, memo: dict) -> Any:
    """A :data:`PLAIN_BAGS` object with plain attributes; else refused."""
    state = obj.state
    if (
        obj.name not in PLAIN_BAGS
        or obj.args
        or not isinstance(state, dict)
        or not all(isinstance(k, str) and k.isidentifier() for k in state)
    ):
        raise _refuse(
            f'an object of class {obj.name} (mixdet loads plain data only: '
            'keep vars(obj) or obj._asdict(), a dict, in the checkpoint)'
        )
    import argparse

    return argparse.Namespace(
        **{key: _to_plain(value, memo) for key, value in state.items()}
    )


# The only references that are resolved to the real object: the annealing
# functions mmengine's OneCycle schedulers keep in their state dict.
_ONE_CYCLE = 'mmengine.optim.scheduler.param_scheduler.OneCycleParamScheduler'
RESOLVABLE = frozenset(
    f'{_ONE_CYCLE}.{name}' for name in ('_annealing_cos', '_annealing_linear')
)
_HISTORY_BUFFER = 'mmengine.logging.history_buffer.HistoryBuffer'


def reference_attribute(obj: Any, name: Any) -> Reference:
    """Stand-in for ``builtins.getattr`` (pickle protocol 2 writes a nested
    name such as ``OneCycleParamScheduler._annealing_cos`` as a getattr of
    the class): only an attribute name of a :class:`Reference`, answered
    with another reference, never looked up."""
    if obj is HistoryBufferState and name in STATISTICS_METHODS:
        obj = Reference(_HISTORY_BUFFER)
    if not isinstance(obj, Reference) or not (
        isinstance(name, str) and name.isidentifier()
    ):
        raise _refuse(
            f'getattr({getattr(obj, "__name__", type(obj).__name__)}, '
            f'{name!r})'
        )
    return Reference(f'{obj.name}.{name}')


def empty_bytes(*args: Any) -> bytes:
    """Stand-in for ``builtins.bytes``: pickle protocol 2 writes ``b''`` as
    ``bytes()`` (an empty array's data); nothing else is built."""
    if args:
        raise _refuse(f'bytes{args!r}')
    return b''


def _stand_ins() -> dict:
    """The stand-ins, by the global name each answers for in the pickle."""
    names = {}
    for core in ('numpy.core', 'numpy._core'):  # numpy 1 and 2
        names[f'{core}.multiarray._reconstruct'] = reconstruct
        names[f'{core}.multiarray.scalar'] = scalar
    return names | {
        'numpy.ndarray': ArrayToken,
        'numpy.dtype': DTypeState,
        'mmengine.logging.history_buffer.HistoryBuffer': HistoryBufferState,
        'builtins.getattr': reference_attribute,
        'builtins.bytes': empty_bytes,
        # The unpickler BUILDs these; their own names resolve to nothing
        # more than their validating __setstate__.
        f'{__name__}.ArrayState': ArrayState,
        f'{__name__}.ObjectState': ObjectState,
    }


# The allow-list torch's weights_only unpickler reads for this thread's
# load_checkpoint_file call (None: torch's own, for every other caller).
_THREAD = threading.local()


@contextlib.contextmanager
def _allowing(allowed: dict) -> Iterator[None]:
    """Make torch's unpickler admit exactly ``allowed`` (beyond its fixed
    defaults) in this thread, for the ``with`` block; other threads, and
    other code's ``add_safe_globals``, neither see nor change it."""
    _install_thread_allow_list()
    _THREAD.allowed = allowed
    try:
        yield
    finally:
        _THREAD.allowed = None


def _install_thread_allow_list() -> None:
    """Route torch's ``_get_user_allowed_globals`` through the thread's
    list; unchanged wherever :func:`_allowing` is not active."""
    module = torch._weights_only_unpickler
    original = module._get_user_allowed_globals
    if getattr(original, '_mixdet', False):
        return

    @functools.wraps(original)
    def user_allowed_globals() -> dict:
        allowed = getattr(_THREAD, 'allowed', None)
        return original() if allowed is None else allowed

    user_allowed_globals._mixdet = True
    module._get_user_allowed_globals = user_allowed_globals


# Stand-ins that only make sense applied, never as values of their own.
_BARE = (
    ArrayToken,
    ArrayState,
    ObjectState,
    DTypeState,
    HistoryBufferState,
    reconstruct,
    scalar,
    reference_attribute,
    empty_bytes,
)


def _resolve(reference: Reference) -> Any:
    """The real object for a name in :data:`RESOLVABLE`; else refused."""
    if reference.name not in RESOLVABLE:
        raise _refuse(
            f'a reference to {reference.name} (a class or function; mixdet '
            'loads plain data only)'
        )
    module, owner, name = reference.name.rsplit('.', 2)
    return getattr(getattr(importlib.import_module(module), owner), name)


def _check_sparse(tensor: torch.Tensor) -> None:
    """Refuse a sparse COO tensor whose indices fall outside its shape (a
    later ``to_dense()`` would write out of bounds)."""
    try:
        torch._validate_sparse_coo_tensor_args(
            tensor._indices(), tensor._values(), tensor.size()
        )
    except RuntimeError as error:
        raise _refuse(f'a sparse tensor: {error}') from None


def _plain_key(key: Any, memo: dict) -> Any:
    if _to_plain(key, memo) is not key:
        raise _refuse('a numpy, HistoryBuffer or reference object in a key')
    return key


def _to_plain(obj: Any, memo: dict) -> Any:
    """Replace every stand-in in ``obj`` by the value it validated; refuse
    a stand-in wherever it cannot be converted (a set, a key, an
    attribute) and a tensor that carries backward hooks."""
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, ArrayState):
        if not hasattr(obj, 'value'):
            raise _refuse('numpy array without its data')
        memo[id(obj)] = obj.value
    elif isinstance(obj, DTypeState):
        memo[id(obj)] = _dtype_of(obj)
    elif isinstance(obj, HistoryBufferState):
        if not hasattr(obj, 'max_length'):
            raise _refuse('HistoryBuffer without its data')
        memo[id(obj)] = obj.build()
    elif isinstance(obj, Reference):
        memo[id(obj)] = _resolve(obj)
    elif isinstance(obj, ObjectState):
        memo[id(obj)] = _rebuild_object(obj, memo)
    elif isinstance(obj, dict):  # dict, OrderedDict, Counter: in place
        memo[id(obj)] = obj
        for key, value in obj.items():
            obj[_plain_key(key, memo)] = _to_plain(value, memo)
        if getattr(obj, '__dict__', None):  # an OrderedDict's attributes
            _to_plain(obj.__dict__, memo)
    elif isinstance(obj, list):
        memo[id(obj)] = obj
        obj[:] = [_to_plain(v, memo) for v in obj]
    elif type(obj) is tuple:
        memo[id(obj)] = tuple(_to_plain(v, memo) for v in obj)
    elif isinstance(obj, (set, frozenset)):
        memo[id(obj)] = obj
        for value in obj:
            _plain_key(value, memo)
    elif isinstance(obj, torch.Tensor):
        if obj._backward_hooks:
            raise _refuse('a tensor with backward hooks')
        if obj.layout == torch.sparse_coo:
            _check_sparse(obj)
        elif obj.layout != torch.strided:
            raise _refuse(f'a {obj.layout} tensor')
        memo[id(obj)] = obj
    elif any(obj is bare for bare in _BARE):
        raise _refuse(f'a bare {getattr(obj, "__name__", obj)}')
    else:
        memo[id(obj)] = obj
    return memo[id(obj)]


# Where mmengine / mmdet read config text from a checkpoint and run it
# (``Config.fromstring`` executes Python): ``Runner.resume`` reads
# ``meta['config']``; ``BaseInferencer`` (``DetInferencer(model=None,
# weights=...)``) reads ``message_hub['runtime_info']['cfg']``, else
# ``meta['cfg']``. tests/test_checkpoint_safety.py greps the installed
# mmengine and mmdet for every such place.
CONFIG_TEXT_KEYS = (
    ('meta', 'config'),
    ('meta', 'cfg'),
    ('message_hub', 'runtime_info', 'cfg'),
)


def drop_config_text(checkpoint: Any) -> list[str]:
    """Remove every config text mmengine or mmdet would execute from
    ``checkpoint`` (see :data:`CONFIG_TEXT_KEYS`); returns what it removed,
    as ``meta.cfg``-style names. ``meta['config']`` keeps the plain values
    ``Runner.resume`` checks (:data:`RESUME_CHECKED`), read without running
    anything and written back as literals."""
    removed = []
    for *path, key in CONFIG_TEXT_KEYS:
        holder = checkpoint
        for part in path:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and key in holder:
            text = holder.pop(key)
            removed.append('.'.join([*path, key]))
            if path == ['meta'] and key == 'config':
                kept = plain_assignments(text, RESUME_CHECKED)
                if kept:
                    holder[key] = ''.join(
                        f'{name} = {value!r}\n' for name, value in kept.items()
                    )
    return removed


# What mmengine's ``Runner.resume`` reads from the checkpoint's config text:
# the GPU ids of the run (refused on another GPU count without
# auto_scale_lr).
RESUME_CHECKED = ('gpu_ids',)


def plain_assignments(text: Any, names: tuple) -> dict:
    """The top-level ``name = <literal>`` assignments of config ``text``
    for ``names`` (``range(a, b)`` as a list, as mmcv wrote ``gpu_ids``);
    parsed, never executed. Anything else is left out."""
    import ast

    if not isinstance(text, str):
        return {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    found = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in names
        ):
            continue
        value = node.value
        try:
            if (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == 'range'
                and not value.keywords
                and len(value.args) <= 3
            ):
                bounds = [ast.literal_eval(a) for a in value.args]
                if all(type(b) is int and abs(b) < 1 << 16 for b in bounds):
                    found[node.targets[0].id] = list(range(*bounds))
            else:
                found[node.targets[0].id] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError):
            continue
    return found


def load_checkpoint_file(
    file: Union[str, os.PathLike, IO[bytes]],
    map_location: Union[str, torch.device, Callable, None] = None,
) -> Any:
    """``torch.load(file, weights_only=True)`` that also reads the numpy
    arrays, numpy scalars and ``HistoryBuffer`` objects of Runner
    checkpoints as validated plain data, and drops ``meta['config']``.

    Args:
        file: A path or a binary file object.
        map_location: As for :func:`torch.load`.

    Raises:
        pickle.UnpicklingError: For anything beyond plain data
            (:class:`CheckpointRefused` for refused numpy / HistoryBuffer
            content).
    """
    try:
        allowed = {
            name: Reference(name) for name in _named_globals(file)
        } | _stand_ins()
        with _allowing(allowed):
            checkpoint = torch.load(
                file, map_location=map_location, weights_only=True
            )
        checkpoint = _to_plain(checkpoint, {})
    except (pickle.UnpicklingError, TypeError) as error:
        # TypeError: a global used in a way the unpickler cannot follow
        raise CheckpointRefused(
            f'{_name(file)} holds more than plain data (tensors, '
            'numbers, strings, containers, numeric or string numpy arrays, '
            f'HistoryBuffer logs, argparse.Namespace): {_reason(error)}. '
            'mixdet never loads such a file. If you trust it: '
            f'ckpt = torch.load({_name(file)!r}, weights_only=False), then '
            "torch.save({'state_dict': ckpt['state_dict']}, 'plain.pth') "
            'and use plain.pth'
        ) from None
    removed = drop_config_text(checkpoint)
    if removed:
        print_log(
            f'{_name(file)}: config text {", ".join(removed)} dropped '
            '(mixdet never runs code from a checkpoint)',
            logger='current',
            level=logging.DEBUG,
        )
    return checkpoint


# Callables torch's weights_only list admits that a Runner checkpoint never
# calls, and that build memory from a number in the file: ``bytearray(N)``
# allocates N bytes; the tensor classes (``torch.Tensor(n)``, NEWOBJ
# ``Tensor.__new__``) and untyped storages allocate without initialising
# (leftover heap data). A pickle that calls one is refused before anything
# is unpickled; naming one as a value (``torch.Tensor`` as the type a
# compiled model's tensors are rebuilt as) is fine.
ALLOCATING_CALLS = frozenset(
    ['builtins.bytearray', 'torch.Tensor', 'torch.UntypedStorage']
    + ['torch.storage.UntypedStorage', 'torch.storage.TypedStorage']
    + [
        f'{module}.{kind}Tensor'
        for module in ('torch', 'torch.cuda')
        for kind in (
            'Double Float Half BFloat16 Long Int Short Char Byte Bool '
            'ComplexFloat ComplexDouble'
        ).split()
    ]
)


def _named_globals(file: Any) -> list[str]:
    """Every global a checkpoint's pickle names (:mod:`.pickle_scan`); each
    becomes an inert :class:`Reference`. Refused up front: a call of an
    :data:`ALLOCATING_CALLS` global, a zip record that inflates beyond its
    size, a pickle that cannot be read without running it."""
    try:
        scan = scan_checkpoint(file)
    except (zipfile.BadZipFile, OSError, EOFError):
        return []  # cut short: torch.load says how
    except (ValueError, KeyError, IndexError) as error:
        if 'exhausted' in str(error):
            return []  # cut short: torch.load says how
        raise _refuse(
            f'a pickle that cannot be read without running it ({error})'
        ) from None
    if scan.inflated:
        name, stored, size = scan.inflated
        raise _refuse(f'record {name} expands from {stored} to {size} bytes')
    size = _file_size(file)
    if size is not None and scan.declared > size:
        raise _refuse(
            f'storages declaring {scan.declared} bytes in a file of {size} '
            'bytes (a crafted or cut-short file)'
        )
    allocating = sorted(scan.called & ALLOCATING_CALLS)
    if allocating:
        raise _refuse(
            f'a call of {", ".join(allocating)} (builds memory from a '
            'number in the file; a Runner checkpoint never calls it)'
        )
    return sorted(scan.named)


def _file_size(file: Any) -> Optional[int]:
    """The size of a path or seekable file object, or None."""
    try:
        if isinstance(file, (str, os.PathLike)):
            return os.path.getsize(file)
        here = file.tell()
        size = file.seek(0, os.SEEK_END)
        file.seek(here)
        return size
    except (OSError, AttributeError, ValueError):
        return None


def _name(file: Any) -> str:
    return str(file) if isinstance(file, (str, os.PathLike)) else 'file'


def _reason(error: pickle.UnpicklingError) -> str:
    """The unpickler's own words, without torch's advice (to turn the check
    off, or to allow-list the global, which mixdet's load does not honour)."""
    text = str(error)
    for marker in ('WeightsUnpickler error:', 'from a trusted source.'):
        if marker in text:
            text = text.split(marker, 1)[1]
            break
    text = text.split('Check the documentation', 1)[0]
    text = text.split(' Please use `torch.serialization', 1)[0]
    text = ' '.join(text.split())
    return text.replace('refused checkpoint content: ', '').rstrip('.')


def load_checkpoint_url(
    url: str,
    model_dir: Optional[str] = None,
    map_location: Any = None,
    progress: bool = True,
    check_hash: bool = False,
    file_name: Optional[str] = None,
) -> Any:
    """mmengine's ``load_url`` (http/https checkpoints), read with
    :func:`load_checkpoint_file`: the file is downloaded into torch's hub
    cache (``model_dir``) as ``torch.hub.load_state_dict_from_url`` does,
    once, and never unpickled with ``weights_only=False``."""
    from urllib.parse import urlparse

    from torch.hub import HASH_REGEX, download_url_to_file, get_dir

    model_dir = model_dir or os.path.join(get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    name = file_name or os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, name)
    if not os.path.exists(cached):
        match = HASH_REGEX.search(name) if check_hash else None
        download_url_to_file(
            url, cached, match.group(1) if match else None, progress=progress
        )
    return load_checkpoint_file(cached, map_location)
