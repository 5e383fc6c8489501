"""The backdoor: a console per connection over real loopback and Unix sockets, stopped cleanly."""

from __future__ import annotations

import io
import logging
import os
import socket as std_socket
import stat
import sys
from pathlib import Path

import pytest

import greenlane
from greenlane import backdoor
from greenlane.green import socket as gsocket
from greenlane.timeout import Timeout

PROMPT = b">>> "
# Generous: bounds a hang in a broken build, never times a healthy one.
READ_TIMEOUT = 10


class Client:
    """A green client that types lines and reads the console's answers up to the next prompt."""

    def __init__(self, sock: gsocket.socket, token: str | None = None) -> None:
        self.sock = sock
        if token is not None:
            assert self.read_to_prompt(b"token: ") == "token: "
            sock.sendall(token.encode() + b"\n")
        self.banner = self.read_to_prompt()

    def read_to_prompt(self, prompt: bytes = PROMPT) -> str:
        data = b""
        with Timeout(READ_TIMEOUT):
            while not data.endswith(prompt):
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.decode()

    def run(self, line: str) -> str:
        """Send ``line``; the console's output before the next prompt."""
        self.sock.sendall(line.encode() + b"\n")
        return self.read_to_prompt().removesuffix(PROMPT.decode())

    def read_to_end(self) -> bytes:
        data = b""
        with Timeout(READ_TIMEOUT):
            while chunk := self.sock.recv(4096):
                data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def _connect(server: backdoor.BackdoorServer) -> gsocket.socket:
    """A connection to the default backdoor: a Unix socket."""
    return greenlane.connect(server.address, family=gsocket.AF_UNIX)


def test_evaluates_expressions_over_loopback_and_stops_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    stdout, stderr = sys.stdout, sys.stderr
    given = {"answer": 42}
    server = backdoor.serve_backdoor(("127.0.0.1", 0), locals=given)
    try:
        host, port = server.address
        assert host == "127.0.0.1" and port > 0
        assert server.token is not None and len(server.token) >= 32
        client = Client(greenlane.connect(server.address), server.token)
        assert "greenlane backdoor in process" in client.banner
        assert client.run("answer + 1") == "43\n"
        printed = client.run("print('to the client'); import sys; sys.stdout")
        assert printed.startswith("to the client\n<RoutedStream")
        assert "ZeroDivisionError: division by zero" in client.run("1/0")  # the session survives
        pasted = "for i in range(2):\n    print(i)\n"
        assert client.run(pasted) == "... ... 0\n1\n"  # a pasted block: no line lost
        assert client.run("greenlane") == (
            'Traceback (most recent call last):\n  File "<backdoor>", line 1, in <module>\n'
            "NameError: name 'greenlane' is not defined\n"
        )  # the namespace is the console's own, with a copy of ``locals``
        assert client.run("import greenlane; greenlane.sleep(0.01); 'slept'") == "'slept'\n"
        assert client.run("answer = 0") == ""
        assert server.sessions == 1
        assert "token=required sessions=1 running>" in repr(server)
        client.close()
    finally:
        server.stop()
    assert not server.running and repr(server).endswith("sessions=0 stopped>")
    assert given == {"answer": 42}  # the console worked on a copy
    assert "to the client" not in capsys.readouterr().out  # printed in the console, not the process
    assert sys.stdout is stdout and sys.stderr is stderr  # the routing proxies are gone
    with pytest.raises(ConnectionRefusedError):
        greenlane.connect(server.address)


def test_stop_ends_open_sessions_and_closes_their_connections() -> None:
    with backdoor.serve_backdoor() as server:
        clients = [Client(_connect(server)) for _ in range(2)]
        assert clients[0].run("2 * 21") == "42\n"
        assert server.sessions == 2
    for client in clients:
        assert client.read_to_end() == b""  # the server hung up
        client.close()
    assert server.sessions == 0


def test_exit_ends_only_the_session_and_leaves_stdin_open(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin)
    with backdoor.serve_backdoor() as server:
        client = Client(_connect(server))
        assert client.run("exit") == "Use exit() or Ctrl-D (end of input) to leave the backdoor\n"
        client.sock.sendall(b"exit()\n")
        assert client.read_to_end() == b""
        client.close()
        again = Client(_connect(server))  # the server still serves
        assert again.run("'still here'") == "'still here'\n"
        again.sock.shutdown(std_socket.SHUT_WR)  # end of input ends the session too
        assert again.read_to_end() == b"\n"  # the console ends the line, then hangs up
        again.close()
    assert not stdin.closed


def test_unix_socket_path_owner_only_and_removed_on_stop(tmp_path: Path) -> None:
    path = str(tmp_path / "backdoor.sock")
    with backdoor.serve_backdoor(path) as server:
        assert server.address == path
        assert stat.S_IMODE(os.stat(path).st_mode) == backdoor.UNIX_SOCKET_MODE
        client = Client(greenlane.connect(path, family=gsocket.AF_UNIX))
        assert client.run("6 * 7") == "42\n"
        client.close()
    assert not os.path.exists(path)


def test_backdoor_server_on_a_listening_socket_until_killed() -> None:
    sock = greenlane.listen(("127.0.0.1", 0))
    address = sock.getsockname()
    server = greenlane.spawn(backdoor.backdoor_server, sock, {"here": "yes"})
    client = Client(greenlane.connect(address))
    assert client.run("here") == "'yes'\n"
    server.kill()
    assert client.read_to_end() == b""  # its session ended with it
    client.close()
    assert sock.fileno() == -1  # the listening socket is closed


def test_backdoor_on_one_connection() -> None:
    ours, theirs = gsocket.socketpair()
    session = backdoor.backdoor((ours, None), {"x": 1})
    client = Client(theirs)
    assert client.run("x += 1; x") == "2\n"
    client.sock.sendall(b"quit()\n")
    session.wait()
    assert ours.fileno() == -1  # closed when the session ended
    client.close()


def test_refuses_a_stdlib_socket() -> None:
    plain = std_socket.socket()
    try:
        with pytest.raises(TypeError, match="green socket"):
            backdoor.backdoor_server(plain)  # type: ignore[arg-type]
    finally:
        plain.close()


def test_only_a_non_loopback_address_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="greenlane.backdoor")
    for host in ("127.0.0.1", "localhost", "::1"):
        assert backdoor._is_loopback(host)
    for host in ("0.0.0.0", "10.1.2.3", "::", "example.com"):
        assert not backdoor._is_loopback(host)
    with backdoor.serve_backdoor(("localhost", 0)):
        pass
    assert caplog.records == []
    with backdoor.serve_backdoor(("127.0.0.1", 0), token=False) as server:
        assert server.token is None
        assert Client(greenlane.connect(server.address)).run("1 + 1") == "2\n"
    assert [r.getMessage() for r in caplog.records] == [
        f"backdoor on {backdoor._describe(server.address)} without a token: every local user (and "
        "container sharing the network) can run any code in this process"
    ]


def test_stopped_before_it_ever_ran_still_closes_its_sockets() -> None:
    server = backdoor.serve_backdoor(("127.0.0.1", 0))
    server.stop()  # its green thread never started
    with pytest.raises(ConnectionRefusedError):
        greenlane.connect(server.address)
    ours, theirs = gsocket.socketpair()
    session = backdoor.backdoor((ours, None))
    session.kill()  # before it started
    assert ours.fileno() == -1
    theirs.close()


def test_a_process_without_stdout_can_still_print_while_a_console_is_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # sys.stdout is None in a process started with its stdout closed: print() is then a no-op,
    # but while a console was open the routing proxy made every print() raise AttributeError.
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    with backdoor.serve_backdoor() as server:
        client = Client(_connect(server))
        assert client.run("print('to the client')") == "to the client\n"
        print("to nowhere")
        print("to nowhere", file=sys.stderr)
        sys.stdout.flush()
        client.close()
    assert sys.stdout is None and sys.stderr is None


def test_the_default_is_a_unix_socket_in_a_private_directory() -> None:
    with backdoor.serve_backdoor() as server:
        path = server.address
        assert isinstance(path, str) and os.path.basename(path) == backdoor.DEFAULT_SOCKET_NAME
        directory = os.path.dirname(path)
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
        assert os.stat(directory).st_uid == os.geteuid()
        st = os.lstat(path)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == backdoor.UNIX_SOCKET_MODE
        assert server.token is None  # the file's mode keeps other users out
        assert Client(_connect(server)).run("6 * 7") == "42\n"
    assert not os.path.exists(directory)


def test_a_tcp_client_without_the_token_is_hung_up_on() -> None:
    with backdoor.serve_backdoor(("127.0.0.1", 0), token="s3cret") as server:
        assert server.token == "s3cret"
        for attempt in (b"guess\n", b"s3cret-not\n", b"x" * (backdoor.MAX_TOKEN_LINE + 10)):
            sock = greenlane.connect(server.address)
            sock.sendall(attempt)
            reply = _read_all(sock)
            assert reply.startswith(b"token: ") and b">>>" not in reply
            sock.close()
        assert server.sessions == 0
        assert Client(greenlane.connect(server.address), "s3cret").run("'in'") == "'in'\n"
    with pytest.raises(ValueError, match="token"):
        backdoor.serve_backdoor(("127.0.0.1", 0), token="")
    with pytest.raises(ValueError, match="token=True"):
        backdoor.serve_backdoor(("127.0.0.1", 0), token=True)


def _read_all(sock: gsocket.socket) -> bytes:
    data = b""
    with Timeout(READ_TIMEOUT):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_a_line_without_a_newline_is_cut_off_at_the_limit(caplog: pytest.LogCaptureFixture) -> None:
    with backdoor.serve_backdoor() as server:
        client = Client(_connect(server))
        assert client.run("'x' * 3") == "'xxx'\n"
        flood = b"1" * (backdoor.MAX_LINE + 1)  # no newline, one past the limit
        client.sock.sendall(flood)
        reply = _read_all(client.sock)  # the server hangs up without waiting for more
        assert reply == f"\nline longer than {backdoor.MAX_LINE} characters: connection closed\n".encode()
        client.close()
        assert server.sessions == 0
        ok = Client(_connect(server))  # a line of exactly the limit is fine
        assert ok.run("#" + "x" * (backdoor.MAX_LINE - 1)) == ""
        ok.close()
    assert "backdoor session ended: line longer than 65536 characters" in caplog.text


def test_a_statement_that_never_ends_is_cut_off_at_the_limit() -> None:
    with backdoor.serve_backdoor() as server:
        client = Client(_connect(server))
        line = b"  x = 1  # " + b"y" * 60_000 + b"\n"
        client.sock.sendall(b"if True:\n")
        client.sock.sendall(line * (backdoor.MAX_STATEMENT // len(line) + 1))
        reply = _read_all(client.sock)
        assert reply.endswith(
            f"statement longer than {backdoor.MAX_STATEMENT} characters: connection closed\n".encode()
        )
        client.close()


def test_a_unix_path_that_exists_is_refused_by_name(tmp_path: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("keep me")
    target.chmod(0o644)
    link = tmp_path / "link.sock"
    link.symlink_to(target)
    with pytest.raises(FileExistsError, match=r"is a symbolic link .* refusing to follow it"):
        backdoor.serve_backdoor(str(link))
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.read_text() == "keep me"
    assert link.is_symlink()  # left as it was

    with pytest.raises(FileExistsError, match="exists and is not a socket"):
        backdoor.serve_backdoor(str(target))

    stale = str(tmp_path / "stale.sock")
    dead = std_socket.socket(std_socket.AF_UNIX)
    dead.bind(stale)
    dead.close()  # the file stays, nothing listens
    with pytest.raises(FileExistsError, match="is a stale socket file"):
        backdoor.serve_backdoor(stale)

    live = str(tmp_path / "live.sock")
    with backdoor.serve_backdoor(live), pytest.raises(FileExistsError, match="something is listening"):
        backdoor.serve_backdoor(live)


def test_stop_removes_only_the_socket_it_made(tmp_path: Path) -> None:
    path = tmp_path / "b.sock"
    server = backdoor.serve_backdoor(str(path))
    server._server.kill()  # the listener is gone; someone replaces the file meanwhile
    path.unlink()
    path.write_text("not ours")
    server.stop()
    assert path.read_text() == "not ours"
