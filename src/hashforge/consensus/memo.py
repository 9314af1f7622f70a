"""`cached`: functools.cached_property without its lock, for values of immutable consensus objects.

Python 3.11's cached_property takes an RLock on every first access (3.12 dropped it), and a
transaction's txid, serializations and sighash midstates are nearly all first accesses: one
block connection paid more for the locks than for some of the values. These values are pure
functions of frozen objects, so two threads racing on one compute it twice and store equal
values, which is harmless. Like cached_property it stores the value in the instance's __dict__,
which then shadows the (non-data) descriptor: later reads are plain attribute reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached(Generic[T]):
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> cached[T]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type[Any] | None = None) -> T | cached[T]:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.attrname] = value
        return value
