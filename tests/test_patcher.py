"""monkey_patch: keywords, idempotence, original(), import_patched, warnings.

Every patching run happens in a fresh interpreter (``run_script``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from greenlane import patcher
from helpers import run_script

SCENARIOS = Path(__file__).parent / "patching"


def run_scenario(path: Path, *args: str, env: dict[str, str] | None = None) -> None:
    code = f"import sys; sys.path.insert(0, {str(SCENARIOS)!r})\n" + path.read_text()
    proc = run_script(code, *args, env=env)
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1:] == ["pass"], (
        f"{path.name} failed (exit {proc.returncode})\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


@pytest.mark.parametrize(
    "scenario", sorted(p.name for p in SCENARIOS.glob("*.py") if not p.name.startswith("_"))
)
def test_scenario(scenario: str) -> None:
    run_scenario(SCENARIOS / scenario)


def patched_after(call: str) -> set[str]:
    proc = run_script(
        f"""
        import greenlane
        from greenlane import patcher
        greenlane.{call}
        print(sorted(k for k in patcher.KEYWORD_MODULES if greenlane.is_monkey_patched(k)))
        """
    )
    assert proc.returncode == 0, proc.stderr
    return set(eval(proc.stdout.strip().splitlines()[-1]))


DEFAULT = {"os", "select", "socket", "thread", "time", "subprocess"}  # psycopg: accepted, not patched


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("monkey_patch()", DEFAULT),
        ("monkey_patch(all=True)", DEFAULT),
        ("monkey_patch(socket=True)", {"socket"}),
        ("monkey_patch(socket=True, time=True)", {"socket", "time"}),
        ("monkey_patch(os=False, thread=False)", DEFAULT - {"os", "thread"}),
        ("monkey_patch(all=False, time=True)", {"time"}),
        ("monkey_patch(all=False)", set()),
        ("monkey_patch(all=True, os=False)", DEFAULT - {"os"}),
        ("monkey_patch(MySQLdb=False)", DEFAULT),
    ],
)
def test_eventlet_keyword_rule(call: str, expected: set[str]) -> None:
    assert patched_after(call) == expected


def test_unknown_keyword_is_a_type_error_and_patches_nothing() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'sockets'"):
        patcher.monkey_patch(sockets=True)
    with pytest.raises(TypeError, match="both"):
        patcher.monkey_patch(__builtin__=True, builtins=True)
    assert not any(patcher._saved.values())


def test_unsupported_keyword_warns_and_does_nothing() -> None:
    proc = run_script(
        """
        import warnings, sys
        warnings.simplefilter("error")
        import greenlane
        try:
            greenlane.monkey_patch(MySQLdb=True)
        except greenlane.patcher.MonkeyPatchWarning as w:
            assert "MySQLdb" in str(w), w
        else:
            raise AssertionError("no warning")
        assert "MySQLdb" not in sys.modules
        greenlane.monkey_patch(MySQLdb=True)  # already handled: silent now
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_builtins_keyword_patches_open_once() -> None:
    proc = run_script(
        """
        import warnings, builtins
        warnings.simplefilter("error")
        import greenlane
        opened = builtins.open
        greenlane.monkey_patch(__builtin__=True)  # eventlet's old name
        assert builtins.open is not opened and greenlane.is_monkey_patched("builtins")
        patched = builtins.open
        greenlane.monkey_patch(builtins=True)
        assert builtins.open is patched
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_idempotent_and_is_monkey_patched() -> None:
    proc = run_script(
        """
        import time, threading, _thread
        import greenlane
        assert not greenlane.is_monkey_patched("time") and not greenlane.is_monkey_patched(time)
        greenlane.monkey_patch(time=True)
        assert greenlane.is_monkey_patched("time") and greenlane.is_monkey_patched(time)
        assert not greenlane.is_monkey_patched("thread") and not greenlane.is_monkey_patched(threading)
        first = time.sleep
        greenlane.monkey_patch(time=True)
        greenlane.monkey_patch()
        greenlane.monkey_patch()
        assert time.sleep is first
        assert greenlane.is_monkey_patched("thread") and greenlane.is_monkey_patched(_thread)
        from greenlane import patcher
        orig_time = patcher.original("time")
        assert type(orig_time.sleep).__name__ == "builtin_function_or_method", orig_time.sleep
        assert patcher._saved["time"]["sleep"] is orig_time.sleep
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_original_threading_starts_os_threads() -> None:
    proc = run_script(
        """
        import greenlane, threading, _thread
        greenlane.monkey_patch()
        real = greenlane.patcher.original("threading")
        assert real is not threading and real.Thread is not threading.Thread
        seen = []
        t = real.Thread(target=lambda: seen.append(_thread.get_native_id()))
        t.start(); t.join(10)
        assert seen and seen[0] != _thread.get_native_id(), seen
        g = threading.Thread(target=lambda: seen.append(_thread.get_native_id()))
        g.start(); g.join(10)
        assert seen[1] == _thread.get_native_id(), seen
        assert greenlane.patcher.original("json") is __import__("json")
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_import_patched_leaves_sys_modules_alone() -> None:
    proc = run_script(
        """
        import sys, greenlane
        queue_mod = greenlane.import_patched("queue")
        import queue, threading
        assert queue_mod is not queue and sys.modules["queue"] is queue
        assert queue_mod.threading is not threading
        q = queue_mod.Queue()
        import greenlane.greenthread as gt
        gt.spawn_after(0.05, q.put, 7)
        assert q.get(timeout=5) == 7
        assert not greenlane.is_monkey_patched("thread")
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_late_patch_warns_naming_what_it_cannot_fix() -> None:
    proc = run_script(
        """
        import sys, threading, types, warnings, time
        fake = types.ModuleType("urllib3"); sys.modules["urllib3"] = fake
        mylib = types.ModuleType("mylib"); sys.modules["mylib"] = mylib
        exec("import threading; LOCK = threading.Lock(); HELD = threading.Lock()", vars(mylib))
        mylib.HELD.acquire()
        def make_closure():
            in_closure = threading.Lock()
            return lambda: in_closure
        uses_closure = make_closure()
        stop = threading.Event()
        t = threading.Thread(target=stop.wait, name="early-bird", daemon=True); t.start()
        rlock = threading.RLock()
        class Holder: pass
        h = Holder(); h.lock = rlock
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import greenlane
            greenlane.monkey_patch()
        text = " ".join(str(w.message) for w in caught)
        assert [w.filename for w in caught] == ["<string>"], [(w.filename, w.lineno) for w in caught]
        for needle in ("early-bird", "urllib3", "mylib.HELD"):
            assert needle in text, (needle, text)
        assert "mylib.LOCK" not in text, text
        from greenlane.green.thread import LockType, RLock
        assert isinstance(mylib.LOCK, LockType) and not isinstance(mylib.HELD, LockType)
        assert not isinstance(uses_closure(), LockType)  # a closure cell cannot be rewritten
        assert isinstance(h.lock, RLock), h.lock
        assert isinstance(rlock, RLock), rlock  # module globals are rewritten too
        import concurrent.futures.thread as cft
        assert isinstance(cft._global_shutdown_lock, LockType)
        stop.set()
        print("pass")
        """
    )
    assert proc.stdout.strip().splitlines()[-1:] == ["pass"], proc.stderr


RUN_MAIN = "import runpy; runpy.run_module('greenlane', run_name='__main__')"


def test_python_m_greenlane_runs_script_and_module(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text(
        "import sys, time, greenlane\n"
        "assert __name__ == '__main__'\n"
        "assert greenlane.is_monkey_patched('thread') and greenlane.is_monkey_patched(time)\n"
        "print('args', sys.argv[1:], sys.argv[0].endswith('prog.py'))\n"
    )
    proc = run_script(RUN_MAIN, str(script), "a", "-b")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "args ['a', '-b'] True"
    mod = tmp_path / "progmod.py"
    mod.write_text(
        "import sys, greenlane\nprint(__name__, sys.argv[1:], greenlane.is_monkey_patched('socket'))\n"
    )
    proc = run_script(f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + RUN_MAIN, "-m", "progmod", "x")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "__main__ ['x'] True"
    proc = run_script(RUN_MAIN)
    assert proc.returncode == 2 and "usage" in proc.stderr


def test_in_process_suite_has_patched_nothing() -> None:
    from conftest import _patched_stdlib

    assert _patched_stdlib() == []
    assert sys.modules["time"].sleep.__module__ == "time"


def test_inject_and_import_patched_with_extra_modules() -> None:
    proc = run_script(
        """
        import types, greenlane
        from greenlane import patcher
        fake_time = types.ModuleType("time")
        fake_time.monotonic = lambda: 42.0
        fake_time.sleep = print
        ns = {}
        sched = patcher.inject("sched", ns, ("time", fake_time))
        assert ns["scheduler"] is sched.scheduler and sched.scheduler().timefunc() == 42.0
        q = greenlane.import_patched("queue", time=fake_time)
        assert q.time() == 42.0  # queue's `from time import monotonic as time`
        import select, sys
        assert patcher.original("select") is select  # never patched: the module itself
        greenlane.monkey_patch(select=True)
        orig = patcher.original("select")
        assert orig is not select and orig.epoll.__module__ == "select"
        assert select.epoll.__module__ != "select"
        assert not hasattr(select, "kqueue")
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr
