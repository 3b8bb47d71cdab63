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
  ``statistics_methods`` may only name the four built-in methods (through
  ``builtins.getattr``, which resolves to :func:`statistics_method`) and is
  then ignored: no class state changes.

The stand-ins are active only inside :func:`load_checkpoint_file` (torch's
allow-list holds exactly them for that call, under a lock, and is restored
afterwards), so other code's ``add_safe_globals`` / ``safe_globals`` and the
hash seed cannot change what is admitted, and ``torch.load`` elsewhere in
the process behaves as without mixdet. A checkpoint's ``meta['config']``
(Python source that mmengine's ``Runner.resume`` would execute) is removed.
"""

import io
import logging
import math
import os
import pickle
import threading
from typing import IO, Any, Callable, Union

import numpy as np
import torch
from mmengine.logging import print_log

# numpy dtype codes a checkpoint may use: bool, ints, uints, floats, complex.
NUMERIC_DTYPES = frozenset(
    'b1 i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8 f16 c8 c16 c32'.split()
)
STATISTICS_METHODS = ('min', 'max', 'current', 'mean')
_LOCK = threading.RLock()


class CheckpointRefused(pickle.UnpicklingError):
    """A checkpoint holds something beyond plain data."""


def _refuse(message: str) -> CheckpointRefused:
    return CheckpointRefused(f'refused checkpoint content: {message}')


class DTypeState:
    """Stand-in for ``numpy.dtype(code, align, copy)``: numeric only."""

    value = None  # stays None if a crafted file skips __init__

    def __init__(self, code: str, align: bool = False, copy: bool = True):
        if not isinstance(code, str) or code not in NUMERIC_DTYPES:
            raise _refuse(
                f'numpy dtype {code!r} (allowed: {sorted(NUMERIC_DTYPES)})'
            )
        self.value = np.dtype(code)

    def __setstate__(self, state: Any) -> None:
        # A numeric dtype pickles (3, byteorder, None, None, None, -1, -1, 0).
        if (
            not isinstance(state, tuple)
            or len(state) != 8
            or state[0] not in (3, 4)
            or state[1] not in ('<', '>', '|', '=')
            or state[2:] != (None, None, None, -1, -1, 0)
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
        methods = state.get('statistics_methods', {})
        if not isinstance(methods, dict) or any(
            k not in STATISTICS_METHODS or v != ('HistoryBuffer', k)
            for k, v in methods.items()
        ):
            raise _refuse('HistoryBuffer statistics_methods beyond the four')
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


def statistics_method(obj: Any, name: Any) -> tuple[str, str]:
    """Stand-in for ``builtins.getattr``: only ``HistoryBuffer.<method>``,
    answered with a token (the real method is never looked up)."""
    if obj is HistoryBufferState and name in STATISTICS_METHODS:
        return ('HistoryBuffer', name)
    raise _refuse(
        f'getattr({getattr(obj, "__name__", type(obj).__name__)}, {name!r})'
        f'; a checkpoint may only name HistoryBuffer.'
        f'{{{", ".join(STATISTICS_METHODS)}}}'
    )


def empty_bytes(*args: Any) -> bytes:
    """Stand-in for ``builtins.bytes``: pickle protocol 2 writes ``b''`` as
    ``bytes()`` (an empty array's data); nothing else is built."""
    if args:
        raise _refuse(f'bytes{args!r}')
    return b''


def _stand_ins() -> list:
    """(stand-in, the global's name in the pickle) for torch's allow-list."""
    names = []
    for core in ('numpy.core', 'numpy._core'):  # numpy 1 and 2
        names += [
            (reconstruct, f'{core}.multiarray._reconstruct'),
            (scalar, f'{core}.multiarray.scalar'),
        ]
    return names + [
        (ArrayToken, 'numpy.ndarray'),
        (DTypeState, 'numpy.dtype'),
        (HistoryBufferState, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (statistics_method, 'builtins.getattr'),
        (empty_bytes, 'builtins.bytes'),
        # The unpickler BUILDs these; their own names resolve to nothing
        # more than their validating __setstate__.
        ArrayState,
    ]


# Stand-ins that only make sense applied, never as values of their own.
_BARE = (
    ArrayToken,
    ArrayState,
    DTypeState,
    HistoryBufferState,
    reconstruct,
    scalar,
    statistics_method,
    empty_bytes,
)


def _to_plain(obj: Any, memo: dict) -> Any:
    """Replace every stand-in in ``obj`` by the value it validated."""
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
    elif isinstance(obj, dict):  # dict, OrderedDict, Counter: in place
        memo[id(obj)] = obj
        for key, value in obj.items():
            if isinstance(key, (ArrayState, DTypeState, HistoryBufferState)):
                raise _refuse('a numpy or HistoryBuffer object as a key')
            obj[key] = _to_plain(value, memo)
    elif isinstance(obj, list):
        memo[id(obj)] = obj
        obj[:] = [_to_plain(v, memo) for v in obj]
    elif type(obj) is tuple:
        memo[id(obj)] = tuple(_to_plain(v, memo) for v in obj)
    elif any(obj is bare for bare in _BARE):
        raise _refuse(f'a bare {getattr(obj, "__name__", obj)}')
    else:
        memo[id(obj)] = obj
    return memo[id(obj)]


def _drop_config_source(checkpoint: Any, source: str) -> None:
    """Remove ``meta['config']``: Python text that mmengine would run."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        del meta['config']
        print_log(
            f"{source}: ignored meta['config'] (mixdet never executes code "
            'from a checkpoint)',
            logger='current',
            level=logging.WARNING,
        )


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
    with _LOCK:
        others = torch.serialization.get_safe_globals()
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(_stand_ins())
        try:
            checkpoint = torch.load(
                file, map_location=map_location, weights_only=True
            )
        except pickle.UnpicklingError as error:
            raise CheckpointRefused(
                f'{_name(file)} holds more than plain data (tensors, '
                'numbers, strings, containers, numeric numpy arrays, '
                f'HistoryBuffer logs): {_reason(error)}. mixdet never '
                'loads such a file; re-save its weights as a plain state '
                'dict where it came from, if you trust it'
            ) from None
        finally:
            torch.serialization.clear_safe_globals()
            torch.serialization.add_safe_globals(others)
    checkpoint = _to_plain(checkpoint, {})
    _drop_config_source(checkpoint, _name(file))
    return checkpoint


def _name(file: Any) -> str:
    return str(file) if isinstance(file, (str, os.PathLike)) else 'file'


def _reason(error: pickle.UnpicklingError) -> str:
    """The unpickler's own words, without torch's advice to turn the
    check off."""
    text = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1]
        text = text.split('Check the documentation', 1)[0]
    text = ' '.join(text.split())
    return text.replace('refused checkpoint content: ', '')


def load_checkpoint_bytes(data: bytes, map_location: Any = None) -> Any:
    """:func:`load_checkpoint_file` for a checkpoint held in memory."""
    with io.BytesIO(data) as buffer:
        return load_checkpoint_file(buffer, map_location)
