"""A live dashboard: a compute node's progress on a web page, pushed over a WebSocket.

One process, one hub: ``greenlane.wsgi`` serves the page and the WebSocket
endpoint, and a green thread plays a compute node live-migrating instances
one after another. Every change is numbered, kept in a short history and
pushed to every open page; a page that connects late first gets the history,
then the live changes, over one WebSocket connection.

Run it: ``python examples/dashboard.py [--port 8080] [--step 0.5]`` and open
the printed address in a browser. ``tests/test_dashboard.py`` drives it in a
real headless Chromium.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import greenlane
from greenlane import wsgi
from greenlane.queue import Queue
from greenlane.websocket import WebSocket, WebSocketWSGI

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>compute node</title></head>
<body>
<h1>compute node <span id="node"></span></h1>
<p>now: <b id="status">connecting</b> &middot; sockets opened: <span id="sockets">0</span></p>
<ol id="events"></ol>
<script>
let opened = 0;
function connect() {
  const ws = new WebSocket(`ws://${location.host}/ws`);
  opened += 1;
  document.getElementById("sockets").textContent = opened;
  ws.onmessage = (message) => {
    const change = JSON.parse(message.data);
    const item = document.createElement("li");
    item.textContent = `#${change.seq} ${change.text}`;
    document.getElementById("events").appendChild(item);
    document.getElementById("status").textContent = change.text;
  };
  ws.onclose = () => { document.getElementById("status").textContent = "disconnected"; };
}
connect();
</script>
</body></html>
"""

HISTORY = 50  # changes a late page is sent first


class Dashboard:
    """The node's changes, and the queues of the pages watching them."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.watchers: set[Queue[dict[str, Any] | None]] = set()
        self.sockets_opened = 0

    def publish(self, text: str) -> None:
        change = {"seq": len(self.history) + 1, "text": text}
        self.history.append(change)
        del self.history[:-HISTORY]
        for queue in self.watchers:
            queue.put(change)

    def watch(self, ws: WebSocket) -> None:
        """Serve one page: the history, then every change until the page goes away."""
        self.sockets_opened += 1
        queue: Queue[dict[str, Any] | None] = Queue()
        for change in self.history:
            queue.put(change)
        self.watchers.add(queue)

        def until_closed() -> None:
            while ws.wait() is not None:
                pass  # the page sends nothing; wait() returns None when it leaves
            queue.put(None)

        reader = greenlane.spawn(until_closed)
        try:
            while (change := queue.get()) is not None:
                ws.send(json.dumps(change))
        finally:
            self.watchers.discard(queue)
            reader.kill()

    def app(self, env: dict[str, Any], start_response: Any) -> Any:
        """The WSGI application: ``/`` the page, ``/ws`` the live feed, ``/stats`` counters."""
        path = env["PATH_INFO"]
        if path == "/ws":
            return WebSocketWSGI(self.watch)(env, start_response)
        if path == "/stats":
            body = json.dumps({"changes": len(self.history), "sockets_opened": self.sockets_opened})
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body.encode()]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [PAGE.encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]


def compute_node(dashboard: Dashboard, step: float) -> None:
    """A node live-migrating instances one after another, forever."""
    n = 0
    while True:
        n += 1
        name = f"instance-{n:03d}"
        dashboard.publish(f"{name}: migrating")
        greenlane.sleep(step)
        dashboard.publish(f"{name}: active on the target host")
        greenlane.sleep(step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--step", type=float, default=0.5, help="seconds between changes")
    args = parser.parse_args()
    dashboard = Dashboard()
    listener = greenlane.listen(("127.0.0.1", args.port))
    print(f"serving on http://127.0.0.1:{listener.getsockname()[1]}/", flush=True)
    greenlane.spawn(compute_node, dashboard, args.step)
    wsgi.server(listener, dashboard.app, log_output=False)


if __name__ == "__main__":
    main()
