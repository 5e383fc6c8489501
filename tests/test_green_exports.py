"""Every name a ``greenlane.green.X`` module exposes is green, or listed here with the reason it is harmless.

A green module falls through to the stdlib for what it does not replace, so
it also hands out the stdlib's own functions and classes. One of those that
waits (Python 3.11's ``ssl.wrap_socket`` did: its handshake blocked the hub
and hung eventlet's ``ssl_test``) is a hang waiting to happen. The walk below
reads every name of every green module, on this Python, and flags each
callable that *is* the stdlib module's own object; a flagged name must be in
``ALLOWED`` with its reason. A new Python that adds a name makes this test
fail until someone decides whether it can wait. Exceptions, enums and
submodules never wait and are not flagged.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import sys
import types

import pytest

import greenlane.green

# -- reasons ----------------------------------------------------------------

PURE = "computes or converts in memory; no I/O"
TYPE = "a type, record or base class: making one does no I/O"
FS = (
    "a local file-system or metadata call: the kernel answers without waiting for another party "
    "(eventlet leaves it too)"
)
FD_IO = (
    "I/O on an fd the caller passes: greenlane's own fds (green sockets, GreenPipe) are "
    "non-blocking, so there it raises BlockingIOError rather than waiting; on a regular file it "
    "is disk I/O, as under eventlet"
)
PROC = (
    "process, user or scheduling control that returns at once (a signal is sent, not awaited; exec, fork "
    "and _exit do not wait)"
)
CONF = "reads or sets process or system settings; no waiting"
LOCAL_DB = "a lookup in the kernel or in local files (/etc/services, /etc/protocols), not on the network"
PRIVATE = "a private helper of a stdlib function or class that this green module replaces"
SIGNAL_WAIT = (
    "waits for a signal, which is what it is for; eventlet leaves it blocking too (a green program "
    "waits on an Event its signal handler sets instead)"
)
FILE_LOCK = "waits only while another process holds the lock on the file (eventlet leaves it too)"
FIFO_OPEN = (
    "opening a FIFO without O_NONBLOCK waits for the other end, as under eventlet; files, devices and "
    "directories open at once"
)
ENTROPY = "waits only before the kernel's entropy pool is first initialised, at early boot"
FD_WRAPPER = (
    "wraps a socket or file object the caller passes: it waits only through that object's (green) methods"
)


def _allow(reason: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), reason)


ALLOWED: dict[str, dict[str, str]] = {
    "greenlane.green.os": {
        **_allow(CONF, "_create_environ reload_environ"),
        **_allow(
            "sets up a pseudo-terminal or a namespace, or reads or arms a timerfd: returns at once "
            "(reading a timerfd is os.read, which is green)",
            """grantpt posix_openpt ptsname unlockpt setns unshare timerfd_create timerfd_gettime
            timerfd_gettime_ns timerfd_settime timerfd_settime_ns""",
        ),
        **_allow(CONF, "process_cpu_count"),
        **_allow(PURE, """WCOREDUMP WEXITSTATUS WIFCONTINUED WIFEXITED WIFSIGNALED WIFSTOPPED WSTOPSIG
            WTERMSIG _check_methods _fspath _get_exports_list fsdecode fsencode fspath major
            makedev minor strerror waitstatus_to_exitcode get_exec_path"""),
        **_allow(TYPE, """DirEntry GenericAlias Mapping MutableMapping PathLike _Environ sched_param
            stat_result statvfs_result terminal_size times_result uname_result waitid_result"""),
        **_allow(FS, """access chdir chmod chown chroot fchdir fchmod fchown lchown link listdir
            listxattr getxattr setxattr removexattr lstat stat fstat statvfs fstatvfs mkdir
            makedirs mkfifo mknod readlink remove removedirs rename renames replace rmdir
            scandir symlink truncate ftruncate unlink utime walk fwalk _walk _fwalk _exists
            getcwd getcwdb device_encoding pathconf fpathconf fsync fdatasync sync
            posix_fadvise posix_fallocate memfd_create umask"""),
        **_allow(FD_IO, """close closerange dup dup2 pipe pipe2 lseek pread preadv pwrite pwritev readv
            writev sendfile splice copy_file_range eventfd eventfd_read eventfd_write
            get_blocking set_blocking get_inheritable set_inheritable isatty ttyname openpty
            forkpty login_tty tcgetpgrp tcsetpgrp get_terminal_size pidfd_open"""),
        **_allow(PROC, """_exit abort execl execle execlp execlpe execv execve execvp execvpe _execvpe
            fork kill killpg nice posix_spawn posix_spawnp register_at_fork setegid seteuid
            setgid setgroups setpgid setpgrp setpriority setregid setresgid setresuid
            setreuid setsid setuid initgroups sched_yield sched_setaffinity sched_setparam
            sched_setscheduler"""),
        **_allow(CONF, """confstr cpu_count ctermid getegid getenv getenvb geteuid getgid getgrouplist
            getgroups getloadavg getlogin getpgid getpgrp getpid getppid getpriority
            getresgid getresuid getsid getuid putenv unsetenv sched_get_priority_max
            sched_get_priority_min sched_getaffinity sched_getparam sched_getscheduler
            sched_rr_get_interval sysconf times uname"""),
        **_allow(PRIVATE, "_spawnvef _wrap_close"),
        **_allow(FILE_LOCK, "lockf"),
        **_allow(FIFO_OPEN, "open"),
        **_allow(ENTROPY, "getrandom urandom"),
    },
    "greenlane.green.socket": {
        **_allow(
            "used only where the OS has no socketpair() (Windows); Linux's is native",
            "_fallback_socketpair",
        ),
        **_allow(PURE, """CMSG_LEN CMSG_SPACE _intenum_converter htonl htons ntohl ntohs inet_aton
            inet_ntoa inet_ntop inet_pton"""),
        **_allow(FD_WRAPPER, "SocketIO send_fds recv_fds"),
        **_allow(FD_IO, "close dup"),
        **_allow(CONF, """getdefaulttimeout setdefaulttimeout gethostname sethostname
            has_dualstack_ipv6"""),
        **_allow(LOCAL_DB, """getprotobyname getservbyname getservbyport if_indextoname if_nameindex
            if_nametoindex"""),
    },
    "greenlane.green.ssl": {
        **_allow(PURE, "_check_sslobject_params"),
        **_allow(PURE, """DER_cert_to_PEM_cert PEM_cert_to_DER_cert RAND_add RAND_bytes RAND_pseudo_bytes
            RAND_status _dnsname_match _inet_paton _ipaddress_match _nid2obj _txt2obj
            _simple_enum _sslcopydoc cert_time_to_seconds get_protocol_name match_hostname
            namedtuple"""),
        **_allow(TYPE, "DefaultVerifyPaths SSLSession _ASN1Object"),
        **_allow(
            "TLS over memory buffers (MemoryBIO): it never touches a socket, so it cannot wait",
            "MemoryBIO SSLObject",
        ),
        **_allow(PRIVATE, "_SSLContext"),
        **_allow(FS, "get_default_verify_paths"),
    },
    "greenlane.green.select": {},
    "greenlane.green.selectors": {
        **_allow(TYPE, """ABCMeta BaseSelector Mapping SelectorKey _BaseSelectorImpl _PollLikeSelector
            _SelectorMapping"""),
        **_allow(PURE, "_can_use _fileobj_to_fd abstractmethod namedtuple"),
    },
    "greenlane.green.signal": {
        **_allow(PURE, "_enum_to_int _int_to_enum strsignal valid_signals"),
        **_allow(TYPE, "struct_siginfo"),
        **_allow(PROC, """alarm default_int_handler getitimer setitimer pidfd_send_signal pthread_kill
            pthread_sigmask raise_signal set_wakeup_fd siginterrupt sigpending"""),
        **_allow(SIGNAL_WAIT, "pause sigtimedwait sigwait sigwaitinfo"),
    },
    "greenlane.green.time": {
        **_allow(PURE, """asctime ctime gmtime localtime mktime strftime strptime struct_time
            get_clock_info"""),
        **_allow(CONF, """clock_getres clock_gettime clock_gettime_ns clock_settime clock_settime_ns
            monotonic monotonic_ns perf_counter perf_counter_ns process_time process_time_ns
            pthread_getcpuclockid thread_time thread_time_ns time time_ns tzset"""),
    },
    "greenlane.green.thread": {
        **_allow(CONF, "_get_name"),
        **_allow(CONF, "_get_main_thread_ident _is_main_interpreter daemon_threads_allowed"),
        **_allow(TYPE, "_ExceptHookArgs"),
        **_allow(PURE, "_excepthook"),
        **_allow(CONF, "get_native_id stack_size"),
        **_allow(PROC, "exit exit_thread interrupt_main"),
    },
    "greenlane.green.threading": {
        **_allow(CONF, "_daemon_threads_allowed _get_main_thread_ident _is_main_interpreter"),
        **_allow(TYPE, "ExceptHookArgs WeakSet _deque"),
        **_allow(PURE, "_count _islice excepthook"),
        **_allow(CONF, "_time get_native_id stack_size"),
    },
    "greenlane.green.queue": {
        **_allow(TYPE, "deque"),
        **_allow(PURE, "heappop heappush"),
        **_allow(CONF, "time"),
    },
    "greenlane.green.subprocess": {
        **_allow(TYPE, "CompletedProcess"),
        **_allow(PURE, "_WIFSTOPPED _WSTOPSIG _waitstatus_to_exitcode"),
        **_allow(CONF, "_time"),
        **_allow(PRIVATE, "_PopenSelector _fork_exec _waitpid"),
    },
    "greenlane.green.socketserver": {
        **_allow(TYPE, "BufferedIOBase"),
        **_allow(CONF, "time"),
    },
    "greenlane.green.profile": {
        **_allow(PRIVATE, "_Utils"),
        **_allow("the stdlib's command-line entry point (python -m profile), not called by programs", "main"),
    },
    "greenlane.green.http.client": _allow(PURE, "urlsplit"),
    "greenlane.green.http.cookiejar": _allow(PURE, "timegm"),
    "greenlane.green.http.cookies": {
        **_allow(PURE, "_has_control_character _unquote_replace _unquote_sub"),
        **_allow(TYPE, "BaseCookie Morsel SimpleCookie"),
        **_allow(PURE, "_getdate _is_legal_key _nulljoin _quote _semispacejoin _spacejoin _unquote"),
    },
    "greenlane.green.urllib.parse": {
        **_allow(PURE, "_urlparse _urlsplit _urlunsplit"),
        **_allow(PURE, "_check_bracketed_netloc _generate_unquoted_parts _unquote_impl"),
        **_allow(TYPE, """DefragResult DefragResultBytes ParseResult ParseResultBytes ResultBase
            SplitResult SplitResultBytes _DefragResultBase _NetlocResultMixinBase
            _NetlocResultMixinBytes _NetlocResultMixinStr _ParseResultBase _Quoter
            _ResultMixinBytes _ResultMixinStr _SplitResultBase"""),
        **_allow(PURE, """_byte_quoter_factory _check_bracketed_host _checknetloc _coerce_args
            _decode_args _encode_result _noop _splitattr _splithost _splitnetloc _splitnport
            _splitparams _splitpasswd _splitport _splitquery _splittag _splittype _splituser
            _splitvalue _to_bytes clear_cache namedtuple parse_qs parse_qsl quote
            quote_from_bytes quote_plus splitattr splithost splitnport splitpasswd splitport
            splitquery splittag splittype splituser splitvalue to_bytes unquote unquote_plus
            unquote_to_bytes unwrap urldefrag urlencode urljoin urlparse urlsplit urlunparse
            urlunsplit"""),
    },
    "greenlane.green.urllib.request": {
        **_allow(PURE, """_randombytes _splitattr _splithost _splitpasswd _splitport _splitquery _splittag
            _splittype _splituser _splitvalue _to_bytes quote unquote unquote_to_bytes
            unwrap urljoin urlparse urlsplit urlunparse"""),
        **_allow(FD_WRAPPER, "addclosehook addinfourl"),
    },
    "greenlane.green.urllib.response": _allow(FD_WRAPPER, "addbase addclosehook addinfo addinfourl"),
}

# The stdlib module each green module stands for, where the name differs.
STDLIB_NAME = {"greenlane.green.thread": "_thread"}
# Importable only with an optional dependency, or not a stdlib module's stand-in.
SKIPPED = {"greenlane.green.zmq"}

# Swapped on the stdlib module while tests run (pytest installs its own
# threading.excepthook per test), so whether it is "the same object" varies.
SWAPPED_AT_RUN_TIME = {"excepthook"}

_MISSING = object()


def _green_modules() -> list[types.ModuleType]:
    modules = []
    for info in pkgutil.walk_packages(greenlane.green.__path__, "greenlane.green."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name in SKIPPED:
            continue
        modules.append(importlib.import_module(info.name))
    return modules


def _stdlib_module(module: types.ModuleType) -> types.ModuleType:
    name = module.__name__
    return importlib.import_module(STDLIB_NAME.get(name, name.removeprefix("greenlane.green.")))


def _is_harmless_kind(obj: object) -> bool:
    if isinstance(obj, types.ModuleType) or not callable(obj):
        return True
    return isinstance(obj, type) and issubclass(obj, (BaseException, enum.Enum))


def _stdlib_reexports(module: types.ModuleType) -> set[str]:
    """Names of ``module`` whose value is the stdlib module's own callable of that name."""
    std = _stdlib_module(module)
    names = set(dir(module)) | set(dir(std)) | set(getattr(module, "__all__", ()))
    found = set()
    for name in names:
        if name.startswith("__"):
            continue
        try:
            value = getattr(module, name)
        except AttributeError:
            continue
        if value is getattr(std, name, _MISSING) and not _is_harmless_kind(value):
            found.add(name)
    return found


MODULES = _green_modules()


def test_the_walk_covers_the_new_green_modules() -> None:
    names = {m.__name__ for m in MODULES}
    for expected in (
        "greenlane.green.socket",
        "greenlane.green.ssl",
        "greenlane.green.os",
        "greenlane.green.http.client",
        "greenlane.green.http.server",
        "greenlane.green.urllib.request",
        "greenlane.green.socketserver",
        "greenlane.green.ftplib",
    ):
        assert expected in names


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_reexported_stdlib_callable_is_allowed_with_a_reason(module: types.ModuleType) -> None:
    allowed = ALLOWED.get(module.__name__, {})
    unlisted = sorted(_stdlib_reexports(module) - set(allowed))
    assert not unlisted, (
        f"{module.__name__} hands out the stdlib's own {unlisted}: green them, or list each in ALLOWED "
        "with the reason it cannot wait"
    )


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_no_allowed_name_is_green_already(module: types.ModuleType) -> None:
    # A listed name that is now the green module's own object is a stale entry.
    std = _stdlib_module(module)
    stale = sorted(
        name
        for name in ALLOWED.get(module.__name__, {})
        if name not in SWAPPED_AT_RUN_TIME
        and hasattr(std, name) and hasattr(module, name) and getattr(module, name) is not getattr(std, name)
    )
    assert not stale, f"{module.__name__}: {stale} are green now; drop them from ALLOWED"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="ssl.wrap_socket was removed in Python 3.12")
def test_ssl_wrap_socket_is_green_where_it_exists() -> None:
    import ssl

    from greenlane.green import ssl as green_ssl

    assert green_ssl.wrap_socket is not ssl.wrap_socket  # type: ignore[attr-defined]
