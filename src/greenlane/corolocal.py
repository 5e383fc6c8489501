"""Green-thread-local storage: eventlet's ``corolocal.local``, ``threading.local`` per green thread.

Each green thread sees its own attributes on a ``local``. "Green thread" is
what ``greenlane.getcurrent()`` returns: the ``GreenThread`` (or ``spawn_n``
task) for spawned code, the raw greenlet for a thread's main green thread.
It is deliberately *not* the greenlet underneath: spawned tasks run on pooled
worker greenlets, and keying by the worker would hand one task's attributes
to the next task that reuses it.

Where the data lives, and why. Each green thread object carries a small
token (attribute ``_greenlane_corolocal``), and while the thread runs each
``local`` keeps that thread's attribute dict in a table keyed by the token's
id, as CPython keeps ``threading.local`` data with the ``local``, keyed by a
per-thread object. So the data dies with the ``local``, even when a value
refers back to the ``local`` (``x.local.x = x``: a cycle the collector can
break, and CPython's ``test_cycle_collection``); a thread that dies drops its
token, whose weak reference removes its entries. When a spawned green thread
*ends*, its dicts move from the ``local``s to its token: they then live as
long as the ``GreenThread`` handle, and a value that refers back to the
thread no longer keeps it alive through a ``local`` that lives forever. (A
raw greenlet has no such end; its data stays with the ``local`` until the
greenlet object dies.)

Why attribute access is emulated instead of swapping ``__dict__``. eventlet
and ``_threading_local`` install the caller's dict as the instance
``__dict__`` before every access. Between that store and the read another OS
thread can run (native threads read locals too, for example under ``tpool``)
and install its own dict; ``_threading_local`` takes a lock for it, which a
green thread could hold across a switch. Here each access looks the name up
in the class (data descriptors such as properties win, as usual), then in the
caller's dict, then uses a class attribute or method, as ``object``'s own
lookup does, so nothing shared is written and no lock is needed.

A subclass ``__init__`` runs once per green thread, with the arguments given
at construction, on that thread's first access (as ``threading.local`` does);
if it raises, the thread's dict is dropped and the next access tries again.
``__slots__`` declared by a subclass stay shared by all threads, as with
``threading.local``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, Final, TypeVar
from weakref import WeakSet

from ._core import current

__all__ = ["get_ident", "local"]

# The attribute each green thread object stores its locals under (see the module docstring).
_STORE: Final = "_greenlane_corolocal"
_MISSING: Any = object()

L = TypeVar("L", bound="local")


def get_ident() -> int:
    """An id of the calling green thread (eventlet's ``corolocal.get_ident``)."""
    return id(current())


class _Token:
    """A green thread's side of its locals (see the module docstring)."""

    __slots__ = ("__weakref__", "kept", "users")

    def __init__(self) -> None:
        self.users: list[weakref.ref[_Impl]] = []  # locals with a dict for this thread
        self.kept: dict[object, dict[str, Any]] = {}  # impl.key -> dict, once the thread ended

    def finish(self) -> None:
        """The thread ended: take its dicts from the locals (see the module docstring)."""
        users, self.users = self.users, []
        for ref in users:
            impl = ref()
            if impl is None:
                continue
            ldict = impl.dicts.pop(id(self), None)
            impl.refs.pop(id(self), None)
            if ldict is not None:
                self.kept[impl.key] = ldict
                impl.ended.add(self)


class _Impl:
    """A ``local``'s bookkeeping, kept apart so subclasses cannot shadow it."""

    __slots__ = ("__weakref__", "args", "cls", "dicts", "ended", "key", "kwargs", "refs")

    def __init__(self, tp: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.args = args
        self.kwargs = kwargs
        # The key ended threads keep their dict under: an object of its own, so a
        # thread's entry keeps no part of the local alive.
        self.key = object()
        # id(token) -> that running thread's dict, and the weak reference that drops it.
        self.dicts: dict[int, dict[str, Any]] = {}
        self.refs: dict[int, weakref.ref[_Token]] = {}
        self.ended: WeakSet[_Token] = WeakSet()  # ended threads holding one of our dicts
        # The class and its MRO's namespaces (live views), replaced as one if __class__ is assigned.
        self.cls: tuple[type, tuple[MappingProxyType[str, Any], ...]] = (tp, _namespaces(tp))

    def lookup(self, tp: type, name: str) -> Any:
        """``name`` as found on the class (``_PyType_Lookup``), or ``_MISSING``."""
        known, mro = self.cls
        if tp is not known:
            mro = _namespaces(tp)
            self.cls = (tp, mro)
        for ns in mro:
            if name in ns:
                return ns[name]
        return _MISSING

    def create(self, owner: local, thread: Any, init: bool) -> dict[str, Any]:
        """Make ``thread``'s dict (running ``__init__`` in it if ``init``) and return it."""
        token: _Token | None = getattr(thread, _STORE, None)
        if token is None:
            token = _Token()
            setattr(thread, _STORE, token)
        tid = id(token)
        ldict: dict[str, Any] = {}
        dicts, refs = self.dicts, self.refs

        def forget(_: object, tid: int = tid) -> None:  # the thread died: no reference to the local
            dicts.pop(tid, None)
            refs.pop(tid, None)

        dicts[tid] = ldict
        refs[tid] = weakref.ref(token, forget)
        token.users.append(weakref.ref(self))
        if init:
            try:
                type(owner).__init__(owner, *self.args, **self.kwargs)
            except BaseException:
                dicts.pop(tid, None)
                refs.pop(tid, None)
                raise
        return ldict

    def __del__(self) -> None:
        key = self.key
        for token in list(self.ended):
            token.kept.pop(key, None)


def thread_ended(thread: Any) -> None:
    """Called by a spawned green thread as it ends: its locals' dicts move to it."""
    token: _Token | None = getattr(thread, _STORE, None)
    if token is not None:
        token.finish()


def _namespaces(tp: type) -> tuple[MappingProxyType[str, Any], ...]:
    return tuple(c.__dict__ for c in tp.__mro__)


def _impl(obj: local) -> _Impl:
    return object.__getattribute__(obj, "_local__impl")  # type: ignore[no-any-return]


def _dict(obj: local, impl: _Impl) -> dict[str, Any]:
    """The calling green thread's attribute dict for ``obj``, made (and initialised) on first use."""
    thread = current()
    try:
        return impl.dicts[id(thread._greenlane_corolocal)]  # _STORE
    except (AttributeError, KeyError):
        return impl.create(obj, thread, type(obj).__init__ is not object.__init__)


class local:
    """An object whose attributes are separate for each green thread (``threading.local`` per green thread).

    Subclass it and define ``__init__`` to give each green thread the same
    starting attributes.
    """

    __slots__ = ("__weakref__", "_local__impl")

    def __new__(cls: type[L], /, *args: Any, **kwargs: Any) -> L:
        """A new local; arguments are kept for the subclass ``__init__`` of each green thread."""
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        impl = _Impl(cls, args, kwargs)
        object.__setattr__(self, "_local__impl", impl)
        impl.create(self, current(), init=False)  # the creator's __init__ is run by the constructor
        return self

    def __getattribute__(self, name: str) -> Any:
        # The hot path: helpers inlined, each global looked up once.
        impl = _impl_of(self)
        thread = current()
        try:  # _dict(), inlined
            ldict = impl.dicts[id(thread._greenlane_corolocal)]  # _STORE
        except (AttributeError, KeyError):
            ldict = impl.create(self, thread, type(self).__init__ is not object.__init__)
        if name == "__dict__":
            return ldict
        tp = type(self)
        known, mro = impl.cls
        if tp is known:
            for ns in mro:  # impl.lookup(), inlined
                if name in ns:
                    break
            else:  # not on the class: the common case, the thread's own attribute
                try:
                    return ldict[name]
                except KeyError:
                    raise AttributeError(
                        f"{tp.__name__!r} object has no attribute {name!r}", name=name, obj=self
                    ) from None
            attr = ns[name]
        else:
            attr = impl.lookup(tp, name)
        get = None
        if attr is not _MISSING:
            kind = type(attr)
            get = getattr(kind, "__get__", None)
            if get is not None and (hasattr(kind, "__set__") or hasattr(kind, "__delete__")):
                return get(attr, self, tp)  # a data descriptor (property, slot) wins
        try:
            return ldict[name]
        except KeyError:
            pass
        if attr is _MISSING:
            raise AttributeError(f"{tp.__name__!r} object has no attribute {name!r}", name=name, obj=self)
        if get is not None:
            return get(attr, self, tp)
        return attr

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__dict__":
            raise AttributeError(f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        impl = _impl_of(self)
        thread = current()
        try:  # _dict(), inlined
            ldict = impl.dicts[id(thread._greenlane_corolocal)]  # _STORE
        except (AttributeError, KeyError):
            ldict = impl.create(self, thread, type(self).__init__ is not object.__init__)
        attr = impl.lookup(type(self), name)
        if attr is not _MISSING:
            setter = getattr(type(attr), "__set__", None)
            if setter is not None:
                setter(attr, self, value)
                return
        ldict[name] = value

    def __delattr__(self, name: str) -> None:
        if name == "__dict__":
            raise AttributeError(f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        impl = _impl(self)
        ldict = _dict(self, impl)
        attr = impl.lookup(type(self), name)
        if attr is not _MISSING:
            deleter = getattr(type(attr), "__delete__", None)
            if deleter is not None:
                deleter(attr, self)
                return
        try:
            del ldict[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self
            ) from None

    def __repr__(self) -> str:
        impl = _impl(self)
        mine = _dict(self, impl)
        return f"<{type(self).__name__} threads={len(impl.dicts)} attributes={sorted(mine)}>"


# The ``_local__impl`` slot's getter: a C call, cheaper than ``object.__getattribute__``.
_impl_of: Final[Callable[[local], _Impl]] = local.__dict__["_local__impl"].__get__
