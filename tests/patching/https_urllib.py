"""HTTPS through the patched stack: ssl.create_default_context, its setters, a TLS server and urllib."""
from _runtime import check, patch

patch()
import http.server  # noqa: E402
import ssl  # noqa: E402
import threading  # noqa: E402
import urllib.request  # noqa: E402
import warnings  # noqa: E402

import trustme  # noqa: E402

ca = trustme.CA()
server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ca.issue_cert("localhost").configure_cert(server_ctx)
client_ctx = ssl.create_default_context()
ca.configure_trust(client_ctx)
# Every setter the stdlib routes through super(SSLContext, SSLContext):
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    client_ctx.options |= ssl.OP_NO_TLSv1
client_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
client_ctx.verify_flags |= ssl.VERIFY_X509_TRUSTED_FIRST
client_ctx.verify_mode = ssl.CERT_REQUIRED
messages: list[str] = []
client_ctx._msg_callback = lambda conn, direction, *rest: messages.append(direction)  # type: ignore[attr-defined]
check(client_ctx.minimum_version == ssl.TLSVersion.TLSv1_2, "minimum_version kept")


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
url = f"https://localhost:{server.server_address[1]}/"
bodies = []
workers = [
    threading.Thread(target=lambda: bodies.append(urllib.request.urlopen(url, context=client_ctx).read()))
    for _ in range(5)
]
for w in workers:
    w.start()
for w in workers:
    w.join(10)
check(bodies == [b"hello"] * 5, f"five HTTPS requests at once: {bodies}")
check("read" in messages and "write" in messages, "the TLS message callback saw both directions")
server.shutdown()
server.server_close()
print("pass")
