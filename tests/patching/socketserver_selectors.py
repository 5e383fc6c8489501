"""socketserver.ThreadingTCPServer (serve_forever polls with selectors), http.client and urllib.request."""
import socketserver

from _runtime import check, patch

patch()
import http.client  # noqa: E402
import http.server  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402


class Echo(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        line = self.rfile.readline()
        time.sleep(0.3)  # every client waits at once: only concurrency makes this fast
        self.wfile.write(line.upper())


server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
server.daemon_threads = True
serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
serving.start()
port = server.server_address[1]
answers: list[bytes] = []


def client(i: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"hello %d\n" % i)
        answers.append(s.makefile("rb").readline())


start = time.monotonic()
clients = [threading.Thread(target=client, args=(i,)) for i in range(10)]
for c in clients:
    c.start()
for c in clients:
    c.join(20)
elapsed = time.monotonic() - start
check(sorted(answers) == sorted(b"HELLO %d\n" % i for i in range(10)), f"answers: {answers}")
check(elapsed < 2.2, f"ten 0.3 s requests overlap ({elapsed:.2f} s; 3 s one after another)")
server.shutdown()
serving.join(10)
server.server_close()
check(not serving.is_alive(), "serve_forever returned after shutdown()")


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hi " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
t.start()
conn = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=10)
conn.request("GET", "/x")
resp = conn.getresponse()
check(resp.status == 200 and resp.read() == b"hi /x", "http.client GET")
conn.close()
import urllib.request  # noqa: E402

with urllib.request.urlopen(f"http://127.0.0.1:{httpd.server_address[1]}/y", timeout=10) as got:
    check(got.read() == b"hi /y", "urllib.request")
httpd.shutdown()
t.join(10)
httpd.server_close()
print("pass")
