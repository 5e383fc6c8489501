"""eventlet's ``spew``: print every line Python executes (a blunt instrument, on purpose)."""

from __future__ import annotations

import linecache
import re
import sys
from collections.abc import Iterable
from types import FrameType
from typing import Any, Final, TextIO

__all__ = ["Spew"]

# Words on a source line that may name a local variable (show_values).
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Spew:
    """A ``sys.settrace`` function writing ``module:line: source`` for each line run.

    ``trace_names`` (names, or one name) limits the output to modules whose
    name starts with one of them; ``show_values`` also prints the variables (local, else
    global) named on each line. Code without a ``__file__`` (``exec``, ``eval``)
    is shown as ``[unknown]:line: VM instruction #n``, as eventlet does.
    """

    def __init__(
        self, trace_names: Iterable[str] | None = None, show_values: bool = True, file: TextIO | None = None
    ) -> None:
        if isinstance(trace_names, str):  # one name, not its letters
            trace_names = (trace_names,)
        self.trace_names = tuple(trace_names) if trace_names is not None else None
        self.show_values = show_values
        self.file = file

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Spew:
        if event != "line":
            return self
        name = frame.f_globals.get("__name__", "?")
        if self.trace_names is not None and not str(name).startswith(self.trace_names):
            return self
        lineno = frame.f_lineno
        out = self.file or sys.stdout
        if "__file__" not in frame.f_globals:  # exec'd or eval'd code: no source to show (eventlet's form)
            out.write(f"[unknown]:{lineno}: VM instruction #{frame.f_lasti}\n")
            return self
        line = linecache.getline(frame.f_code.co_filename, lineno, frame.f_globals).rstrip()
        out.write(f"{name}:{lineno}: {line or '<source unavailable>'}\n")
        if self.show_values:
            local_vars, global_vars = frame.f_locals, frame.f_globals
            for word in dict.fromkeys(_IDENTIFIER.findall(line)):
                if word in local_vars:
                    out.write(f"\t{word}={local_vars[word]!r}\n")
                elif word in global_vars:
                    out.write(f"\t{word}={global_vars[word]!r}\n")
        return self

    def __repr__(self) -> str:
        return f"<Spew trace_names={self.trace_names!r} show_values={self.show_values}>"
