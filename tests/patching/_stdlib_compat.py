"""CPython's own stdlib tests under monkey patching: one module per interpreter, a time limit per test.

    python tests/patching/_stdlib_compat.py [--runtime greenlane|eventlet|gevent|none]
        [--modules test_queue,test_time,...] [--per-test SECONDS] [--record FILE] [--check FILE]

Each module runs in a fresh interpreter that patches first (see ``_runtime``)
and then runs ``test.<module>`` with unittest, reporting every test as it
ends. A test still running after ``--per-test`` seconds ends that
interpreter (``faulthandler``); it counts as a failure ("hung") and the
module carries on in a new interpreter without the tests already done.
Prints a per-module Markdown table. ``--record FILE`` stores the counts
under the runtime's name in a JSON file (the committed baselines);
``--check FILE`` exits non-zero if a module passes fewer tests than the
floor recorded there under ``floors``, or if a test of a module with a floor
hangs. After the table, every failing test is listed with the reason
recorded for it in ``IMPOSSIBLE`` or ``KNOWN_FAILURES``.

Tests judged impossible under green threads are listed in ``IMPOSSIBLE``
with a reason; they still count as failures in the score (those that would
hang, ``NOT_RUN``, are counted without being run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

HERE = Path(__file__).parent
MODULES: Final = (
    "test_select", "test_queue", "test_thread", "test_threading_local", "test_time", "test_timeout",
    "test_selectors", "test_socket", "test_threading", "test_subprocess", "test_socketserver",
    "test_httplib", "test_urllib2_localnet", "test_ssl",
)
CI_SUBSET: Final = ("test_select", "test_queue", "test_thread", "test_threading_local", "test_time")
# A module that needs longer than this in all is stopped (its remaining tests are not counted).
MODULE_LIMIT: Final = 900
# A module that hangs again and again is given up after this many fresh interpreters.
MAX_RESTARTS: Final = 30

# 3.13+: readers spin on get(False) until shutdown, never blocking, so the writers never run.
SPINNING_SHUTDOWN: Final = tuple(
    f"test.test_queue.{impl}{kind}Test.test_shutdown{immediate}_all_methods_in_many_threads"
    for impl in ("C", "Py")
    for kind in ("Queue", "LifoQueue", "PriorityQueue")
    for immediate in ("", "_immediate")
)
# Impossible tests that hang: reported as failures without being run (saves a time limit each).
NOT_RUN: Final = (
    "test.test_threading.InterruptMainTests.test_can_interrupt_tight_loops",  # see IMPOSSIBLE
    "test.test_socket.ThreadedVSOCKSocketStreamTest",  # hangs unpatched too here: see KNOWN_FAILURES
    *SPINNING_SHUTDOWN,
)

# test id prefix -> why it cannot pass with green threads (still counted as failures).
IMPOSSIBLE: Final[dict[str, str]] = {
    "test.test_threading.SubinterpThreadingTests": "sub-interpreters: greenlet does not support them",
    "test.test_thread.TestForkInThread": "expects the forking OS thread to be the only one left in the child",
    "test.test_threading.ThreadTests.test_various_ops": "green threads share their OS thread's native id"
    " (_large_stack and _small_stack too)",
    "test.test_threading.ThreadTests.test_PyThreadState_SetAsyncExc": "async exceptions target OS threads",
    "test.test_threading.InterruptMainTests.test_can_interrupt_tight_loops": (
        "a green thread cannot run while the main one spins without yielding"
    ),
    "test.test_threading.ThreadTests.test_foreign_thread": (
        "a green thread's _DummyThread is forgotten when it ends (the stdlib keeps one per foreign thread)"
    ),
    "test.test_threading.ThreadTests.test_ident_of_no_threading_threads": "as test_foreign_thread",
    "test.test_threading.MiscTestCase.test__all__": "patched names are greenlane's, not _thread's",
    "test.test_threading.ThreadTests.test_disallow_instantiation": "the green lock type can be instantiated",
    **dict.fromkeys(
        SPINNING_SHUTDOWN,
        "its readers poll get(False) in a loop that never blocks: a green thread spinning without "
        "yielding never lets the writers run",
    ),
}

# test id prefix -> why it still fails under greenlane although it is not impossible
# (a gap to close, or a deliberate difference). Still counted as failures.
KNOWN_FAILURES: Final[dict[str, str]] = {
    "test.test_select.SelectTestCase.test_disallow_instantiation": (
        "the green poll object's class can be instantiated (gevent's too)"
    ),
    "test.test_socket.NonBlockingTCPTests.testSetBlocking": (
        "a green socket's fd is always O_NONBLOCK (the hub polls it), whatever its timeout"
    ),
    "test.test_socket.NonBlockingTCPTests.testInitNonBlocking": (
        "a socket made with SOCK_NONBLOCK reports timeout None, not 0.0 (a gap)"
    ),
    "test.test_socket.NonblockConstantTest.test_SOCK_NONBLOCK": "as testInitNonBlocking",
    "test.test_socket.TestExceptions.test_setblocking_invalidfd": (
        "green setblocking() changes only the socket's timeout, so a closed fd raises nothing (a gap)"
    ),
    "test.test_socket.GeneralModuleTests.testSendtoErrors": (
        "the TypeError's wording differs for sendto(data, None)"
    ),
    "test.test_socket.GeneralModuleTests.testRefCountGetNameInfo": (
        "the TypeError of the green getnameinfo keeps its argument referenced through the traceback"
    ),
    "test.test_socket.NetworkConnectionNoServer.test_create_connection_timeout": (
        "it mocks socket.socket; the green create_connection makes its own green socket, bypassing the mock"
    ),
    "test.test_socket.ThreadedVSOCKSocketStreamTest": (
        "hangs unpatched too in this container (an AF_VSOCK connect nobody answers)"
    ),
    "test.test_subprocess.RunFuncTestCase.test_encoding_warning": (
        "its child inherits the runner's PYTHONWARNINGS=ignore and warns nothing (passes when run alone)"
    ),
}

WORKER = r"""
import faulthandler, os, signal, sys, unittest
sys.path.insert(0, HERE)
write = os.write
# As Python does at startup unless SIGINT came in ignored (the runner started as a background job).
signal.signal(signal.SIGINT, signal.default_int_handler)
from _runtime import patch
patch()
limit = float(sys.argv[3])
exclude = set(open(sys.argv[2]).read().split())
not_run = tuple(p for p in sys.argv[4].split(",") if p)

def say(kind, test):
    write(1, f"{kind} {test.id()}\n".encode())

class Result(unittest.TestResult):
    def startTest(self, test):
        say("START", test)
        faulthandler.dump_traceback_later(limit, exit=True)
        super().startTest(test)
    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)
    def addSuccess(self, test): say("OK", test)
    def addFailure(self, test, err): say("FAIL", test)
    def addError(self, test, err): say("FAIL", test)
    def addSkip(self, test, reason): say("SKIP", test)
    def addExpectedFailure(self, test, err): say("OK", test)
    def addUnexpectedSuccess(self, test): say("FAIL", test)
    def addSubTest(self, test, subtest, err):
        if err is not None:
            say("FAIL", test)

def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item

loaded = unittest.defaultTestLoader.loadTestsFromName("test." + sys.argv[1])
tests = [t for t in flatten(loaded) if t.id() not in exclude]
for t in tests:
    if t.id().startswith(not_run):
        say("FAIL", t)
todo = unittest.TestSuite(t for t in tests if not t.id().startswith(not_run))
todo.run(Result())
write(1, b"DONE\n")
os._exit(0)
""".replace("HERE", repr(str(HERE)))


def run_module(module: str, runtime: str, per_test: float) -> dict[str, Any]:
    """Run one stdlib test module under ``runtime``; the per-outcome counts."""
    outcome: dict[str, str] = {}
    restarts = 0
    env = {**os.environ, "SCENARIO_RUNTIME": runtime, "PYTHONWARNINGS": "ignore"}
    with tempfile.NamedTemporaryFile("w+", suffix=".txt") as exclude:
        while True:
            exclude.seek(0)
            exclude.truncate()
            exclude.write("\n".join(outcome))
            exclude.flush()
            try:
                proc = subprocess.run(
                    [sys.executable, "-c", WORKER, module, exclude.name, str(per_test),
                     ",".join(NOT_RUN) if runtime != "none" else ""],
                    capture_output=True, text=True, timeout=MODULE_LIMIT, env=env, check=False,
                )
                out = proc.stdout
            except subprocess.TimeoutExpired as exc:
                out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
            running = None
            finished = False
            for line in out.splitlines():
                kind, _, test_id = line.partition(" ")
                if kind == "START":
                    running = test_id
                elif kind in ("OK", "FAIL", "SKIP"):
                    # a test with failing subtests reports FAIL and then OK: the FAIL stands
                    if outcome.get(test_id) != "FAIL":
                        outcome[test_id] = kind
                    running = None
                elif kind == "DONE":
                    finished = True
            if finished:
                break
            if running is None or restarts >= MAX_RESTARTS:
                outcome[f"{module} (crashed)"] = "FAIL"
                break
            outcome[running] = "HUNG"
            restarts += 1
    counts = {"passed": 0, "failed": 0, "hung": 0, "skipped": 0}
    for test_id, kind in outcome.items():
        key = {"OK": "passed", "FAIL": "failed", "HUNG": "hung", "SKIP": "skipped"}[kind]
        if kind == "OK" and runtime != "none" and any(test_id.startswith(p) for p in IMPOSSIBLE):
            key = "failed"
        counts[key] += 1
        if key in ("failed", "hung"):
            _FAILED.append((test_id, key))
    return counts


# (test id, "failed" or "hung") of every module run so far, for the listing after the table.
_FAILED: list[tuple[str, str]] = []


def why(test_id: str) -> str:
    """The recorded reason a test fails under green threads, or '' if none is recorded."""
    for table in (IMPOSSIBLE, KNOWN_FAILURES):
        for prefix, reason in table.items():
            if test_id.startswith(prefix):
                return reason
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runtime", default="greenlane")
    parser.add_argument("--modules", default=",".join(MODULES))
    parser.add_argument("--ci", action="store_true", help=f"only the CI subset: {', '.join(CI_SUBSET)}")
    parser.add_argument("--per-test", type=float, default=20.0)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--check", type=Path)
    args = parser.parse_args()
    modules = CI_SUBSET if args.ci else tuple(m for m in args.modules.split(",") if m)
    results: dict[str, dict[str, int]] = {}
    print(f"| {args.runtime} | passed | failed | hung | skipped |")
    print("| --- | --- | --- | --- | --- |")
    for module in modules:
        counts = results[module] = run_module(module, args.runtime, args.per_test)
        row = " | ".join(str(counts[k]) for k in ("passed", "failed", "hung", "skipped"))
        print(f"| {module} | {row} |", flush=True)
    total = {k: sum(r[k] for r in results.values()) for k in ("passed", "failed", "hung", "skipped")}
    print(f"| total | {total['passed']} | {total['failed']} | {total['hung']} | {total['skipped']} |")
    if args.runtime == "greenlane" and _FAILED:  # the reasons recorded are greenlane's
        print("\nTests that fail (or hang), with the reason recorded in IMPOSSIBLE / KNOWN_FAILURES:")
        for test_id, key in _FAILED:
            print(f"- {test_id}{' (hung)' if key == 'hung' else ''}: {why(test_id) or 'NOT EXPLAINED'}")
    if args.record:
        data = json.loads(args.record.read_text()) if args.record.exists() else {}
        data.setdefault("python", sys.version.split()[0])
        data.setdefault(args.runtime, {}).update(results)
        args.record.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    if args.check:
        floors = json.loads(args.check.read_text()).get("floors", {})
        low = [m for m in results if results[m]["passed"] < floors.get(m, 0)]
        for m in low:
            print(f"{m}: {results[m]['passed']} passed, below the floor of {floors[m]}", file=sys.stderr)
        hung = [m for m in results if m in floors and results[m]["hung"]]
        for m in hung:
            print(f"{m}: {results[m]['hung']} test(s) hung", file=sys.stderr)
        return 1 if low or hung else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
