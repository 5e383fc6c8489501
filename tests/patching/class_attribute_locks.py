"""Locks in class attributes before patching: swapped, and the class answers the new lock at once.

A class's attribute dict written behind the type's back leaves its attribute
cache answering the old, freed lock (garbage or a crash). unittest.mock,
imported before patching, holds one (NonCallableMock._lock).
"""
import threading
import unittest.mock

from _runtime import RUNTIME, check, patch


class Holder:
    lock = threading.RLock()

    class Inner:
        lock = threading.Lock()


mock_class = unittest.mock.NonCallableMock
for _ in range(100):  # warm the attribute cache
    Holder.lock, Holder.Inner.lock, mock_class._lock  # noqa: B018
patch()
for cls, name in ((Holder, "lock"), (Holder.Inner, "lock"), (mock_class, "_lock")):
    seen = getattr(cls, name)
    check(seen is vars(cls)[name], f"{cls.__name__}.{name} answers what its dict holds: {seen!r}")
    if RUNTIME == "greenlane":
        check(type(seen).__module__ == "greenlane.green.thread", f"{cls.__name__}.{name} is green: {seen!r}")
mock = unittest.mock.MagicMock()  # takes NonCallableMock._lock
mock.x.y(1)
check(mock.x.y.call_args == unittest.mock.call(1), "mock works with the swapped lock")
print("pass")
