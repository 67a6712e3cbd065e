"""Fuzzing shared by the format tests: mutate real files, read them, expect a Session or the format's error.

Imported as a plain module (`from fuzzing import ...`): tests/io has no __init__.py, so pytest's
default "prepend" import mode puts tests/io on sys.path before it imports a test file there.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from hypothesis import strategies as st

from studio.core.session import Session
from studio.io.errors import FormatError

ANY_BYTE = bytes(range(256))
# What a mutation step can do: set a byte, cut the tail, drop / duplicate / swap lines, insert a
# token, or replace the first occurrence of a target with a token.
ALL_OPS = ("flip", "cut", "dropline", "dupline", "swaplines", "insert", "replace")
DEFAULT_OPS = ("flip", "cut", "dropline", "insert")
_TMP = tempfile.mkdtemp(prefix="studio-fuzz-")
atexit.register(shutil.rmtree, _TMP, True)


def mutate(
    data: st.DataObject,
    seeds: Sequence[bytes],
    tokens: Sequence[bytes] | st.SearchStrategy[bytes] = (),
    flips: bytes = ANY_BYTE,
    max_ops: int = 4,
    *,
    ops: Sequence[str] = DEFAULT_OPS,
    targets: Sequence[bytes] = (),
) -> bytes:
    """One of `seeds` after 1 to `max_ops` steps drawn from `ops`.

    "flip" sets a byte to one of `flips`; "insert" puts one of `tokens` (or a draw from a strategy)
    somewhere; "replace" swaps the first occurrence of one of `targets` for one of `tokens`.
    """
    if not isinstance(tokens, st.SearchStrategy):
        tokens = tuple(tokens)
    strategy = _mutations(tuple(seeds), tokens, flips, max_ops, tuple(ops), tuple(targets))
    return data.draw(strategy, label="mutated")


@functools.cache
def _mutations(
    seeds: tuple[bytes, ...],
    tokens: tuple[bytes, ...] | st.SearchStrategy[bytes],
    flips: bytes,
    max_ops: int,
    ops: tuple[str, ...],
    targets: tuple[bytes, ...],
) -> st.SearchStrategy[bytes]:
    # Built once per test (cached on the arguments), drawn once per example.
    unknown = set(ops) - set(ALL_OPS)
    assert not unknown, f"unknown mutation ops {sorted(unknown)}"
    assert flips and seeds
    has_tokens = isinstance(tokens, st.SearchStrategy) or len(tokens) > 0
    usable = [op for op in ops if op not in ("insert", "replace") or has_tokens]
    usable = [op for op in usable if op != "replace" or targets]
    # One integer a step, split into (op, where, what): a draw per step rather than per choice keeps
    # Hypothesis' overhead low; each part is taken modulo whatever it picks from, so shrinking
    # still heads for the first op at the first byte.
    plan = st.tuples(
        st.sampled_from(seeds), st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=max_ops)
    )

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        seed, steps = draw(plan)
        b = bytearray(seed)
        for step in steps:
            k, where = divmod(step, len(usable))
            op = usable[where]
            what, where = divmod(k, 1 << 24)
            if not b:
                break
            if op in ("dropline", "dupline", "swaplines"):
                lines = b.split(b"\n")
                i = where % len(lines)
                if op == "dropline":
                    del lines[i]
                elif op == "dupline":
                    lines.insert(i, lines[i])
                else:
                    j = what % len(lines)
                    lines[i], lines[j] = lines[j], lines[i]
                b = bytearray(b"\n".join(lines))
            elif op == "flip":
                b[where % len(b)] = flips[what % len(flips)]
            elif op == "cut":
                del b[where % len(b) :]
            else:
                token = draw(tokens) if isinstance(tokens, st.SearchStrategy) else tokens[what % len(tokens)]
                if op == "insert":
                    i = where % len(b)
                    b[i:i] = token
                else:
                    b = bytearray(bytes(b).replace(targets[where % len(targets)], token, 1))
        return bytes(b)

    return mutated()


def read_or_format_error(
    read: Callable[[Path], Session], data: bytes, suffix: str, error: type[FormatError]
) -> Session | None:
    """`read` of `data` written to a fresh file ending in `suffix`: the Session, or None after `error`.

    Anything else raised (a bare KeyError, another format's error) fails the test, and so does an
    `error` whose message does not name the file.
    """
    fd, name = tempfile.mkstemp(prefix="fuzz-", suffix=suffix, dir=_TMP)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        try:
            session = read(path)
        except error as exc:
            assert str(path) in str(exc), f"{type(exc).__name__} does not name {path}: {exc}"
            return None
    finally:
        path.unlink()
    assert isinstance(session, Session), f"{read!r} returned {type(session).__name__}, not a Session"
    return session
