"""A real HTTP server process for the requests scenario (stdlib, unpatched, one OS thread a request).

``python _http_server.py HOLD`` prints its port, then answers ``GET /<path>``
after holding the request HOLD seconds with the JSON ``{"path": <path>}``. It
stops when its standard input closes (the scenario that started it exited).
"""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time

HOLD = float(sys.argv[1])


class Hold(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(HOLD)
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    # socketserver's default backlog is 5: twenty connects at once would see
    # SYNs dropped and retried a second later.
    request_queue_size = 128


server = Server(("127.0.0.1", 0), Hold)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(server.server_address[1], flush=True)
sys.stdin.read()
server.shutdown()
