"""What the server workloads (echo, http) share: the neutral client and the sample they make.

The client runs in its own process and is the same for every framework:
``clients/loadgen.c`` compiled once with the machine's C compiler (cached under
``benchmarks/.build``), else the Python twin ``clients/loadgen.py``; for http,
``wrk`` when it is installed. ``http-close`` is http without keep-alive, for
servers that close after each response (gunicorn's sync worker): every request
says ``Connection: close`` and goes on a new connection. The server under test runs in the worker
process, so the worker's CPU time over the run is the server's cost. Both
saturate long before 100 connections are a problem for a server, so the
headline is **server CPU per round trip** (per request); the rate and the
client's p99 latency are reported beside it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Final

from benchmarks.workloads._base import Check, Sample, Stopwatch

HOST: Final = "127.0.0.1"
CONNECTIONS: Final = 100
BACKLOG: Final = 1024
# How often the server's main green thread checks whether the client is done.
CLIENT_POLL_S: Final = 0.02

_CLIENTS: Final = Path(__file__).resolve().parent.parent / "clients"
_BUILD: Final = _CLIENTS.parent / ".build"
_MODE_UNIT: Final = {"echo": "rt", "http": "req", "http-close": "req"}


def _c_client() -> Path | None:
    """The compiled C client, building it on first use; None without a compiler."""
    source = _CLIENTS / "loadgen.c"
    binary = _BUILD / "loadgen"
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    _BUILD.mkdir(exist_ok=True)
    partial = binary.with_suffix(f".{os.getpid()}")
    build = [cc, "-O2", "-o", str(partial), str(source)]
    proc = subprocess.run(build, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"loadgen.c did not build, using the Python client:\n{proc.stderr}", file=sys.stderr)
        return None
    os.replace(partial, binary)  # atomic: concurrent workers never run a half-written binary
    return binary


class Client:
    """The load client process for one sample."""

    def __init__(self, mode: str, port: int, seconds: float) -> None:
        self.mode = mode
        self.wrk = mode in {"http", "http-close"} and shutil.which("wrk") is not None
        if self.wrk:
            command = [
                "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency",
                *(["-H", "Connection: close"] if mode == "http-close" else []),  # wrk reconnects
                f"http://{HOST}:{port}/",
            ]  # fmt: skip
        else:
            args = [HOST, str(port), str(CONNECTIONS), str(seconds), mode]
            binary = _c_client()
            fallback = [sys.executable, str(_CLIENTS / "loadgen.py")]
            command = [str(binary), *args] if binary else [*fallback, *args]
        self.name = Path(command[0]).name
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def running(self) -> bool:
        """True until the client process has exited."""
        return self.proc.poll() is None

    def result(self) -> dict[str, float]:
        """round_trips, errors, elapsed_s, p99_us, parsed from the client's output."""
        out, _ = self.proc.communicate()
        if self.proc.returncode != 0:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {out}")
        if not self.wrk:
            parsed: dict[str, float] = json.loads(out.strip().splitlines()[-1])
            return parsed
        return _parse_wrk(out)


def _parse_wrk(out: str) -> dict[str, float]:
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if done is None:
        raise RuntimeError(f"unexpected wrk output: {out}")
    elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1.0, "ms": 1e3, "s": 1e6}
    p99_us = float(p99.group(1)) * scale[p99.group(2)] if p99 else 0.0
    return {"round_trips": int(done.group(1)), "errors": errors, "elapsed_s": elapsed, "p99_us": p99_us}


def make_sample(mode: str, client: Client, sw: Stopwatch) -> Sample:
    """The sample of a run whose server side ``sw`` timed, from ``client``'s report."""
    got = client.result()
    trips = int(got["round_trips"])
    unit = _MODE_UNIT[mode]
    return Sample(
        metrics={
            f"server_us_per_{unit}": sw.cpu * 1e6 / max(trips, 1),
            f"{unit}_per_s": trips / got["elapsed_s"],
            "p99_us": got["p99_us"],
        },
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"errors": int(got["errors"]), "served": int(trips > 0)},
            expected={"errors": 0, "served": 1},
        ),
    )
