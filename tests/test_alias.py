"""The ``eventlet`` alias: one module under two names, refused over the real eventlet, three ways in.

Every scenario runs in a fresh interpreter: the alias changes ``sys.meta_path``
and ``sys.modules`` for the whole process.
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from helpers import SUBPROCESS_TIMEOUT, run_script

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _ok(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout.splitlines()


def test_every_eventlet_module_is_the_greenlane_module_itself() -> None:
    lines = _ok(
        run_script(
            """
            import importlib, pkgutil, sys
            import greenlane
            from greenlane import patcher
            patcher.alias_eventlet()
            checked = 0
            for info in pkgutil.walk_packages(greenlane.__path__, "greenlane."):
                if info.name.rsplit(".", 1)[-1].startswith("_") or ".testing" in info.name:
                    continue
                try:
                    ours = importlib.import_module(info.name)
                except ImportError:
                    continue  # an optional extra that is not installed
                alias = importlib.import_module("eventlet" + info.name[len("greenlane"):])
                assert alias is ours, (info.name, alias)
                assert sys.modules["eventlet" + info.name[len("greenlane"):]] is ours
                assert ours.__name__ == info.name and ours.__spec__.name == info.name, ours.__spec__
                checked += 1
            assert checked > 20, checked
            print("pass")
            """
        )
    )
    assert lines[-1] == "pass"


def test_top_level_forwards_to_greenlane_except_the_version() -> None:
    lines = _ok(
        run_script(
            """
            from unittest import mock
            import greenlane
            from greenlane import patcher
            patcher.alias_eventlet()
            import eventlet
            import greenlet
            assert eventlet.spawn is greenlane.spawn and eventlet.Event is greenlane.Event
            assert eventlet.hubs is greenlane.hubs
            assert eventlet.greenlet is greenlet  # eventlet's __init__ imports the greenlet package
            from eventlet import greenlet as g
            assert g is greenlet and g.GreenletExit is greenlet.GreenletExit
            assert eventlet.__version__ == "0.41.3" and eventlet.version_info == (0, 41, 3)
            assert eventlet.__greenlane_version__ == greenlane.__version__ != eventlet.__version__
            assert "spawn" in dir(eventlet)
            # Writes and deletes land on greenlane, so mock.patch through either name agrees.
            with mock.patch("eventlet.spawn") as fake:
                assert greenlane.spawn is fake and eventlet.spawn is fake
            assert greenlane.spawn is eventlet.spawn and not isinstance(greenlane.spawn, mock.Mock)
            with mock.patch("eventlet.event.Event.send") as fake:
                assert greenlane.event.Event.send is fake
            assert not isinstance(greenlane.event.Event.send, mock.Mock)
            eventlet.custom_setting = 5
            assert greenlane.custom_setting == 5
            del eventlet.custom_setting
            assert not hasattr(greenlane, "custom_setting")
            try:
                eventlet.no_such_name
            except AttributeError as exc:
                assert "no_such_name" in str(exc), exc
            else:
                raise AssertionError("no AttributeError")
            print("pass")
            """
        )
    )
    assert lines[-1] == "pass"


def test_py2_module_names_and_missing_modules() -> None:
    lines = _ok(
        run_script(
            """
            import sys
            from greenlane import patcher
            patcher.alias_eventlet()
            import greenlane.green.queue
            from eventlet.green import Queue
            import eventlet.green.Queue as Q
            assert Queue is Q is greenlane.green.queue is sys.modules["eventlet.green.Queue"]
            try:
                import eventlet.no_such_module
            except ModuleNotFoundError as exc:
                assert exc.name == "eventlet.no_such_module", exc.name
                assert "greenlane.no_such_module" in str(exc), exc
            else:
                raise AssertionError("imported a module that does not exist")
            print("pass")
            """
        )
    )
    assert lines[-1] == "pass"


def test_aliasing_twice_is_a_no_op() -> None:
    lines = _ok(
        run_script(
            """
            import sys
            from greenlane import _alias, patcher
            patcher.alias_eventlet()
            import eventlet
            patcher.alias_eventlet()
            import eventlet as again
            assert again is eventlet
            assert sum(isinstance(f, _alias.EventletFinder) for f in sys.meta_path) == 1
            print("pass")
            """
        )
    )
    assert lines[-1] == "pass"


def test_the_real_eventlet_already_imported_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    # A stand-in for the real eventlet, imported by a library before the alias.
    (tmp_path / "eventlet").mkdir()
    (tmp_path / "eventlet" / "__init__.py").write_text("__version__ = '0.41.3'\n")
    (tmp_path / "eventlet" / "event.py").write_text("class Event: pass\n")
    (tmp_path / "somelib.py").write_text("import eventlet.event\nfrom eventlet.event import Event\n")
    lines = _ok(
        run_script(
            f"""
            import sys
            sys.path.insert(0, {str(tmp_path)!r})
            import somelib
            real = sys.modules["eventlet"]
            from greenlane import _alias, patcher
            try:
                patcher.alias_eventlet()
            except ImportError as exc:
                assert isinstance(exc, _alias.AliasError)
                message = str(exc)
                assert {str(tmp_path)!r} in message and "somelib" in message, message
                assert "before anything imports eventlet" in message, message
            else:
                raise AssertionError("aliased over the real eventlet")
            assert not _alias.installed()
            assert sys.modules["eventlet"] is real
            print("pass")
            """
        )
    )
    assert lines[-1] == "pass"


def test_eventlet_environment_is_translated_and_what_cannot_be_honoured_is_logged_once() -> None:
    proc = run_script(
        """
        import logging, os
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
        from greenlane import patcher
        patcher.alias_eventlet()
        patcher.alias_eventlet()
        import eventlet
        assert os.environ["GREENLANE_HUB"] == "select", os.environ.get("GREENLANE_HUB")
        assert os.environ["GREENLANE_THREADPOOL_SIZE"] == "3"
        hub = eventlet.hubs.get_hub()
        assert hub.poller_name == "select", hub.poller_name
        print("pass")
        """,
        env={
            "EVENTLET_HUB": "eventlet.hubs.selects",
            "EVENTLET_THREADPOOL_SIZE": "3",
            "EVENTLET_NO_GREENDNS": "yes",
            "EVENTLET_MADE_UP": "1",
        },
    )
    assert _ok(proc)[-1] == "pass"
    log = proc.stderr.splitlines()
    assert [line for line in log if "EVENTLET_MADE_UP" in line] == [
        "WARNING greenlane.alias EVENTLET_MADE_UP='1' has no meaning under greenlane and is ignored"
    ], log
    assert sum("EVENTLET_NO_GREENDNS" in line and line.startswith("INFO") for line in log) == 1, log


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"EVENTLET_HUB": "kqueue"}, "EVENTLET_HUB='kqueue' cannot be honoured"),
        (
            {"EVENTLET_HUB": "poll", "GREENLANE_HUB": "select"},
            "EVENTLET_HUB='poll' ignored: GREENLANE_HUB='select'",
        ),
    ],
)
def test_an_eventlet_hub_that_cannot_be_honoured_is_a_warning(env: dict[str, str], expected: str) -> None:
    proc = run_script("from greenlane import patcher; patcher.alias_eventlet()", env=env)
    _ok(proc)
    assert sum(expected in line for line in proc.stderr.splitlines()) == 1, proc.stderr


def _run_main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("GREENLANE_HUB", "GREENLANE_EVENTLET")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "greenlane", *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=full_env,
        check=False,
        stdin=subprocess.DEVNULL,
    )


PROBE = """\
import sys, greenlane
import eventlet
assert sys.modules["eventlet.greenthread"] is greenlane.greenthread
print("patched" if greenlane.is_monkey_patched("socket") else "not patched", sys.argv[1:])
"""


def test_python_m_greenlane_eventlet_aliases_and_leaves_patching_to_the_program(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    assert _ok(_run_main("--eventlet", str(script), "a", "-b"))[-1] == "not patched ['a', '-b']"
    assert _ok(_run_main("--eventlet", "--patch", str(script)))[-1] == "patched []"
    (tmp_path / "probemod.py").write_text(PROBE)
    proc = _run_main("--eventlet", "-m", "probemod", "x", env={"PYTHONPATH": str(tmp_path)})
    assert _ok(proc)[-1] == "not patched ['x']"


def test_python_m_greenlane_rejects_an_unknown_option() -> None:
    proc = _run_main("--eventlett", "app.py")
    assert proc.returncode == 2 and "unknown option '--eventlett'" in proc.stderr, proc.stderr


def _installed_pth() -> Path | None:
    for directory in {sysconfig.get_paths()["purelib"], *site.getsitepackages()}:
        candidate = Path(directory) / "greenlane-eventlet.pth"
        if candidate.is_file():
            return candidate
    return None


def test_greenlane_eventlet_environment_variable_aliases_at_interpreter_start() -> None:
    if _installed_pth() is None:
        if os.environ.get("CI"):
            pytest.fail("greenlane-eventlet.pth is not in site-packages: the wheel must install it")
        pytest.skip("greenlane-eventlet.pth is installed by the wheel, not by an editable install")
    code = "import sys; print('eventlet' in sys.modules and type(sys.modules['eventlet']).__name__)"
    on = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env={**os.environ, "GREENLANE_EVENTLET": "1"},
        check=False,
    )
    assert _ok(on)[-1] == "EventletModule"
    off = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env={k: v for k, v in os.environ.items() if k != "GREENLANE_EVENTLET"},
        check=False,
    )
    assert _ok(off)[-1] == "False"
    bad = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env={**os.environ, "GREENLANE_EVENTLET": "maybe"},
        check=False,
    )
    assert _ok(bad)[-1] == "False" and "GREENLANE_EVENTLET='maybe'" in bad.stderr, bad.stderr


def test_unmodified_eventlet_example_runs_on_greenlane() -> None:
    proc = _run_main("--eventlet", str(EXAMPLES / "eventlet_echo.py"))
    lines = _ok(proc)
    assert lines[-2] == "squares from green threads: [0, 1, 4, 9, 16]", lines
    summary = lines[-1]
    assert summary.startswith("50 clients, 0.2 s each, all answered in "), summary
    assert " on greenlane " in summary, summary
    # Serially 10 s; concurrently about 0.2 s. Loose, for slow CI machines: not a timing claim.
    assert float(summary.split(" in ")[1].split()[0]) < 5, summary
    assert "Traceback" not in proc.stderr, proc.stderr
