"""requests (urllib3) against a real HTTP server process: 20 GETs at once, each held 0.3 s by the server."""
from _overlap import HOLD, overlap
from _runtime import patch

patch()
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

server = subprocess.Popen(
    [sys.executable, str(Path(__file__).parent / "_http_server.py"), str(HOLD)],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    text=True,
)
try:
    assert server.stdout is not None
    base = f"http://127.0.0.1:{int(server.stdout.readline())}"
    overlap(
        f"requests {requests.__version__}",
        connect=lambda i: requests.Session(),
        call=lambda session, i: session.get(f"{base}/item/{i}", timeout=30).json(),
        expected=lambda i: {"path": f"/item/{i}"},
    )
finally:
    assert server.stdin is not None
    server.stdin.close()
    server.wait(30)
print("pass")
