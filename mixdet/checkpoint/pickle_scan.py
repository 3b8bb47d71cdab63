"""What a checkpoint's pickle names and calls, read without running it.

:func:`scan_checkpoint` walks the pickle opcodes of a torch checkpoint (zip:
its ``data.pkl``; legacy format: the pickles before the storage bytes) with
a symbolic stack: each value is the name of the global it came from, or
nothing. It returns every global the pickle names and every global it calls
(the callable of a REDUCE / NEWOBJ), so the loader can tell a class named as
a value (``torch.Tensor`` as the type ``_rebuild_from_type_v2`` rebuilds)
from one called to allocate (``torch.Tensor(n)``: uninitialised memory).
"""

import contextlib
import io
import os
import pickletools
import zipfile
from typing import IO, Any, NamedTuple, Optional, Union

from .file_format import ZIP_MAGIC


class Scan(NamedTuple):
    """The globals a pickle names and those it calls, as ``module.name``;
    ``inflated``: a zip record that decompresses beyond its stored size,
    ``(name, stored, size)``."""

    named: frozenset
    called: frozenset
    inflated: Optional[tuple] = None
    declared: int = 0  # storage elements the pickle declares (>= 1 byte each)


# A zip record may decompress to at most this much more than it stores
# (torch writes records uncompressed).
RECORD_SLACK = 1 << 16
_CALLS = {'REDUCE': 2, 'NEWOBJ': 2, 'NEWOBJ_EX': 3}  # callable's depth
_PUTS = ('PUT', 'BINPUT', 'LONG_BINPUT')
_GETS = ('GET', 'BINGET', 'LONG_BINGET')


class _Mark:
    pass


class _Const(NamedTuple):
    """A constant the pickle pushed (an int or a string)."""

    value: Any


_CONSTS = (
    'INT BININT BININT1 BININT2 LONG LONG1 LONG4 STRING BINSTRING '
    'SHORT_BINSTRING UNICODE SHORT_BINUNICODE BINUNICODE BINUNICODE8'
).split()


def _storage_elements(pid: Any) -> int:
    """The element count a persistent id ``('storage', type, key,
    location, numel[, view])`` declares (torch allocates it before
    reading)."""
    if (
        isinstance(pid, tuple)
        and len(pid) in (5, 6)
        and pid[0] == _Const('storage')
        and isinstance(pid[4], _Const)
        and type(pid[4].value) is int
    ):
        return max(0, pid[4].value)
    return 0


def _global_name(arg: str) -> str:
    module, name = arg.split(' ', 1)
    return f'{"builtins" if module == "__builtin__" else module}.{name}'


def scan_pickles(stream: IO[bytes], count: int) -> tuple[set, set, int]:
    """The globals named and called in the next ``count`` pickles of
    ``stream``, and the storage elements they declare.

    Raises:
        ValueError: A malformed pickle (one torch's unpickler would refuse
            too, or one that does not follow the stack rules).
    """
    named, called, declared = set(), set(), 0
    for _ in range(count):
        stack: list = []
        memo: dict = {}
        for opcode, arg, _ in pickletools.genops(stream):
            name = opcode.name
            if name in _CALLS:
                value = stack[-_CALLS[name]]
                if isinstance(value, str):
                    called.add(value)
            if name == 'GLOBAL':
                named.add(_global_name(arg))
                stack.append(_global_name(arg))
            elif name in _PUTS:
                memo[arg] = stack[-1]
            elif name == 'MEMOIZE':
                memo[len(memo)] = stack[-1]
            elif name in _GETS:
                stack.append(memo[arg])
            elif name == 'DUP':
                stack.append(stack[-1])
            elif name == 'MARK':
                stack.append(_Mark)
            elif name in _CONSTS:
                stack.append(_Const(arg))
            elif name in ('TUPLE1', 'TUPLE2', 'TUPLE3', 'TUPLE'):
                items = _pop_items(stack, name)
                stack.append(tuple(items))
            elif name == 'BINPERSID':
                if not stack:
                    raise ValueError('BINPERSID on a short stack')
                declared += _storage_elements(stack.pop())
                stack.append(None)
            else:
                _apply(stack, opcode)
    return named, called, declared


def _pop_items(stack: list, name: str) -> list:
    """The items a TUPLE opcode takes off the stack (after a mark, or the
    last 1 to 3)."""
    if name == 'TUPLE':
        if _Mark not in stack:
            raise ValueError('TUPLE without a mark')
        at = len(stack) - 1 - stack[::-1].index(_Mark)
        items = stack[at + 1 :]
        del stack[at:]
        return items
    count = int(name[-1])
    if count > len(stack):
        raise ValueError(f'{name} on a short stack')
    items = stack[len(stack) - count :]
    del stack[len(stack) - count :]
    return items


def _apply(stack: list, opcode: pickletools.OpcodeInfo) -> None:
    """Pop what ``opcode`` takes and push unknown values for what it
    gives, by its stack signature."""
    before = opcode.stack_before
    if pickletools.markobject in before:
        while stack.pop() is not _Mark:
            pass
        taken = before.index(pickletools.markobject)
    else:
        taken = len(before)
    if taken > len(stack):
        raise ValueError(f'{opcode.name} on a short stack')
    del stack[len(stack) - taken :]
    stack.extend([None] * len(opcode.stack_after))


def scan_checkpoint(file: Union[str, os.PathLike, IO[bytes]]) -> Scan:
    """:class:`Scan` of a torch checkpoint, zip or legacy format. A file
    object is left where it was.

    Raises:
        ValueError: A pickle that cannot be scanned.
        EOFError, zipfile.BadZipFile: A file cut short.
    """
    start = None if isinstance(file, (str, os.PathLike)) else file.tell()
    try:
        if zipfile.is_zipfile(file):
            return _scan_zip(file)
        if start is not None:
            file.seek(start)
        with (
            open(file, 'rb') if start is None else contextlib.nullcontext(file)
        ) as stream:
            if stream.read(4) == ZIP_MAGIC:
                raise zipfile.BadZipFile('a zip without its directory')
            stream.seek(-4, io.SEEK_CUR)
            # magic number, protocol, system info, then the checkpoint
            named, called, declared = scan_pickles(stream, 4)
        return Scan(frozenset(named), frozenset(called), None, declared)
    finally:
        if start is not None:
            file.seek(start)


def _scan_zip(file: Any) -> Scan:
    with zipfile.ZipFile(file) as archive:
        for info in archive.infolist():
            if info.file_size > info.compress_size + RECORD_SLACK:
                return Scan(
                    frozenset(),
                    frozenset(),
                    (info.filename, info.compress_size, info.file_size),
                )
        pickles = [n for n in archive.namelist() if n.endswith('data.pkl')]
        if len(pickles) != 1:
            raise ValueError(f'{len(pickles)} data.pkl records')
        named, called, declared = scan_pickles(
            io.BytesIO(archive.read(pickles[0])), 1
        )
    return Scan(frozenset(named), frozenset(called), None, declared)
