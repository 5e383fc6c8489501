"""A Nova-shaped compute node on greenlane: plain blocking code, hundreds of things in flight.

After ``greenlane.monkey_patch()`` the stdlib is cooperative, so this file is
written the way Nova's compute manager is: blocking HTTP calls with
``http.client``, ``time.sleep``, ``threading``, a stdlib HTTP server. It

- starts a fake hypervisor: the stdlib's ``ThreadingHTTPServer``, whose
  per-request threads are now green threads, answering over real loopback
  sockets (a live migration takes 0.5 s; plugging VIFs fails while the host
  is busy; a rebooting instance reports RUNNING after a while);
- live-migrates 200 instances at once, one green thread each;
- retries the flaky "plug VIFs" call with ``greenthread.sleep`` back-off;
- waits for 20 reboots with ``FixedIntervalLoopingCall`` + ``LoopingCallDone``;
- runs a periodic task (``PeriodicTasks``) from a ``ThreadGroup`` timer;
- checksums a 64 MB image in a native thread through ``tpool``, while the rest
  goes on;
- prints a short live report, then the totals: 200 migrations of 0.5 s each
  take about half a second, not 100 seconds.

Run it: ``python examples/compute_node.py`` (it exits 0 within a few seconds).
"""

import greenlane

greenlane.monkey_patch()  # first thing: the stdlib below becomes cooperative

import hashlib  # noqa: E402
import http.client  # noqa: E402
import http.server  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from typing import ClassVar  # noqa: E402

from greenlane import greenthread, loopingcall, periodic_task, tpool  # noqa: E402
from greenlane.threadgroup import ThreadGroup  # noqa: E402

MIGRATIONS = 200
MIGRATION_SECONDS = 0.5
REBOOTS = 20
REBOOT_SECONDS = 0.6
REBOOT_POLL_SECONDS = 0.25
VIF_FAILURES_PER_INSTANCE = 2  # the fake host is "busy" this many times per instance
IMAGE_BYTES = 64 * 1024 * 1024
REPORT_EVERY = 0.25


class FakeHypervisor(http.server.BaseHTTPRequestHandler):
    """A tiny JSON API standing in for libvirt on a remote host."""

    protocol_version = "HTTP/1.1"
    vif_attempts: ClassVar[dict[str, int]] = {}
    reboot_started: ClassVar[dict[str, float]] = {}

    def do_POST(self) -> None:
        action, _, instance = self.path.strip("/").partition("/")
        if action == "migrate":
            time.sleep(MIGRATION_SECONDS)  # green: the other 199 migrations go on meanwhile
            self._reply(200, {"instance": instance, "state": "MIGRATED"})
        elif action == "plug_vifs":
            attempts = self.vif_attempts[instance] = self.vif_attempts.get(instance, 0) + 1
            if attempts <= VIF_FAILURES_PER_INSTANCE:
                self._reply(503, {"error": "host busy, try again"})
            else:
                self._reply(200, {"instance": instance, "vifs": "plugged"})
        elif action == "reboot":
            self.reboot_started[instance] = time.monotonic()
            self._reply(202, {"instance": instance, "state": "REBOOTING"})
        else:
            self._reply(404, {"error": self.path})

    def do_GET(self) -> None:
        _, _, instance = self.path.strip("/").partition("/")
        started = self.reboot_started.get(instance, 0.0)
        state = "RUNNING" if time.monotonic() - started >= REBOOT_SECONDS else "REBOOTING"
        self._reply(200, {"instance": instance, "state": state})

    def _reply(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the report below says what happened


class Hypervisor(http.server.ThreadingHTTPServer):
    request_queue_size = 1024  # 200 clients connect at once


class HostBusy(Exception):
    """The hypervisor asked us to try again."""


class Stats:
    migrated = 0
    vif_retries = 0
    rebooted = 0
    periodic_runs = 0
    checksum = ""


class Driver:
    """The compute driver: blocking calls to the hypervisor, one HTTP request each."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _call(self, method: str, path: str) -> tuple[int, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()

    def live_migrate(self, instance: str, dest: str) -> float:
        """Migrate, then plug the VIFs; returns when the migration call itself was done."""
        status, body = self._call("POST", f"/migrate/{instance}")
        assert status == 200, body
        migrated_at = time.monotonic()
        self.plug_vifs(instance)
        Stats.migrated += 1
        return migrated_at

    def plug_vifs(self, instance: str, attempts: int = 5) -> None:
        delay = 0.01
        for attempt in range(1, attempts + 1):
            status, body = self._call("POST", f"/plug_vifs/{instance}")
            if status == 200:
                return
            if attempt == attempts:
                raise HostBusy(body["error"])
            Stats.vif_retries += 1
            greenthread.sleep(delay)  # Nova's retry: give the host (and everyone else) a moment
            delay *= 2

    def reboot(self, instance: str) -> float:
        started = time.monotonic()
        self._call("POST", f"/reboot/{instance}")

        def _wait_for_reboot() -> None:
            if self._call("GET", f"/state/{instance}")[1]["state"] == "RUNNING":
                raise loopingcall.LoopingCallDone(time.monotonic() - started)

        timer = loopingcall.FixedIntervalLoopingCall(_wait_for_reboot)
        took: float = timer.start(interval=REBOOT_POLL_SECONDS).wait()
        Stats.rebooted += 1
        return took


class ComputeManager(periodic_task.PeriodicTasks):
    @periodic_task.periodic_task(spacing=0.2, run_immediately=True)
    def _heal_instance_info_cache(self, context: object) -> None:
        Stats.periodic_runs += 1


def checksum_image(size: int) -> str:
    """CPU-heavy C code that releases the GIL: worth a native thread."""
    return hashlib.sha256(bytes(size)).hexdigest()


def main() -> int:
    hypervisor = Hypervisor(("127.0.0.1", 0), FakeHypervisor)
    # A patched threading.Thread is a green thread: the server runs beside the rest.
    threading.Thread(target=hypervisor.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    driver = Driver(hypervisor.server_address[1])
    began = time.monotonic()

    def report() -> None:
        print(
            f"  t={time.monotonic() - began:4.2f}s  migrated {Stats.migrated:3}/{MIGRATIONS}"
            f"  rebooted {Stats.rebooted:2}/{REBOOTS}  vif retries {Stats.vif_retries:3}"
            f"  periodic runs {Stats.periodic_runs}  image checksum {'done' if Stats.checksum else 'running'}"
        )

    reporter = loopingcall.FixedIntervalLoopingCall(report)
    reporter.start(interval=REPORT_EVERY)
    group = ThreadGroup()
    group.add_dynamic_timer_args(ComputeManager().run_periodic_tasks, [None], periodic_interval_max=0.2)

    def offload() -> None:
        Stats.checksum = tpool.execute(checksum_image, IMAGE_BYTES)

    checksum = greenthread.spawn(offload)
    migrations = [
        greenthread.spawn(driver.live_migrate, f"vm-{i:03}", "compute-2") for i in range(MIGRATIONS)
    ]
    reboots = [greenthread.spawn(driver.reboot, f"vm-{i:03}") for i in range(REBOOTS)]

    migrated_in = max(gt.wait() for gt in migrations) - began
    plugged_in = time.monotonic() - began
    reboot_times = [gt.wait() for gt in reboots]
    checksum.wait()
    reporter.stop()
    reporter.wait()
    group.stop()
    hypervisor.shutdown()
    hypervisor.server_close()
    report()

    serial = MIGRATIONS * MIGRATION_SECONDS
    print(
        f"{MIGRATIONS} live migrations of {MIGRATION_SECONDS} s each finished in {migrated_in:.2f} s"
        f" (one after another: {serial:.0f} s); their VIFs plugged by {plugged_in:.2f} s"
        f" after {Stats.vif_retries} retries;"
        f" {REBOOTS} reboots seen RUNNING after {min(reboot_times):.2f}-{max(reboot_times):.2f} s;"
        f" periodic task ran {Stats.periodic_runs} times;"
        f" 64 MB image sha256 {Stats.checksum[:12]}... computed in a native thread meanwhile."
    )
    ok = (
        Stats.migrated == MIGRATIONS
        and Stats.rebooted == REBOOTS
        and Stats.vif_retries == MIGRATIONS * VIF_FAILURES_PER_INSTANCE
        and Stats.periodic_runs >= 2
        and Stats.checksum == hashlib.sha256(bytes(IMAGE_BYTES)).hexdigest()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
