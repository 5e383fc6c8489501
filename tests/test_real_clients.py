"""Released client libraries against real servers, under ``monkey_patch()``: calls overlap.

Each scenario in ``tests/real_clients/`` runs in a fresh interpreter: it
patches, then makes 20 blocking calls at once through a real client library,
each held 0.5 s by a real server on loopback, and checks every reply and that
the calls overlapped in green threads (``tests/real_clients/_overlap.py``).

The servers come from ``.ci/services`` (redis, MariaDB, PostgreSQL, RabbitMQ;
``.ci/run`` starts them and exports the ``GREENLANE_TEST_*_URL`` settings); the
HTTP server is a stdlib process the requests scenario starts itself; the client
libraries are the ``services`` extra. Where a server or a library is missing the
test is skipped, saying which; under CI (``CI=true``) it fails instead, since CI
provides them all.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from helpers import SUBPROCESS_TIMEOUT

HERE = Path(__file__).parent
SCENARIOS = HERE / "real_clients"
START_SERVERS = "bash .ci/services start DIR, then source DIR/env"


def in_ci() -> bool:
    """True under CI (``CI=true``, as ``.ci/run`` is run), where a missing server is an error."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip for ``reason``; under CI, fail for it (CI starts every server and installs every client).

    ``GREENLANE_NO_SERVICES`` (its value is the reason) skips even under CI:
    ``.ci/matrix`` sets it, since the real servers are exercised once, on the
    main interpreter, not again inside its chroot.
    """
    no_services = os.environ.get("GREENLANE_NO_SERVICES")
    if no_services:
        pytest.skip(f"{reason}; GREENLANE_NO_SERVICES: {no_services}")
    if in_ci():
        pytest.fail(f"{reason} (CI=true: .ci/run must provide it)", pytrace=False)
    pytest.skip(reason)


# scenario -> (the setting naming its server or None, client modules it imports, extra environment)
CASES: dict[str, tuple[str | None, tuple[str, ...], dict[str, str]]] = {
    "requests_http": (None, ("requests",), {}),
    "redis_py": ("GREENLANE_TEST_REDIS_URL", ("redis",), {}),
    "pymysql_mariadb": ("GREENLANE_TEST_MYSQL_URL", ("pymysql",), {}),
    # psycopg's C wait cannot be made green: its pure-Python mode is the one that cooperates.
    "psycopg_postgres": ("GREENLANE_TEST_POSTGRES_URL", ("psycopg",), {"PSYCOPG_IMPL": "python"}),
    "kombu_rabbitmq": ("GREENLANE_TEST_AMQP_URL", ("kombu", "amqp"), {}),
}


@pytest.mark.parametrize("scenario", sorted(CASES))
def test_real_client(scenario: str) -> None:
    setting, modules, extra_env = CASES[scenario]
    for module in modules:
        if importlib.util.find_spec(module) is None:
            unavailable(f"{module} is not installed (pip install 'greenlane[services]')")
    if scenario == "psycopg_postgres" and ctypes.util.find_library("pq") is None:
        unavailable("libpq is not installed (psycopg's pure-Python mode loads it; apt-get install libpq5)")
    if setting is not None and not os.environ.get(setting):
        unavailable(f"{setting} is not set: no server to talk to ({START_SERVERS})")

    path = [str(HERE / "patching"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, **extra_env, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    env.pop("GREENLANE_HUB", None)
    env.pop("SCENARIO_RUNTIME", None)
    proc = subprocess.run(
        [sys.executable, str(SCENARIOS / f"{scenario}.py")],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=env,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.splitlines()[-1:] == ["pass"], (
        f"{scenario} failed (exit {proc.returncode})\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )


def test_a_missing_server_skips_here_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GREENLANE_NO_SERVICES", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no redis here"):
        unavailable("no redis here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no redis here \(CI=true"):
        unavailable("no redis here")
    monkeypatch.setenv("GREENLANE_NO_SERVICES", "tested elsewhere")
    with pytest.raises(pytest.skip.Exception, match="GREENLANE_NO_SERVICES: tested elsewhere"):
        unavailable("no redis here")
