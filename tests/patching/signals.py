"""Signal handlers run promptly while every green thread is parked; KeyboardInterrupt reaches main."""
import os
import signal

from _runtime import RUNTIME, check, patch

# Python installs this handler at startup unless SIGINT came in ignored (a shell's
# background job: a suite run with `&`); the scenario is about this handler.
signal.signal(signal.SIGINT, signal.default_int_handler)
patch()
import threading  # noqa: E402
import time  # noqa: E402

got: list[str] = []
woken = threading.Event()


def on_usr1(signum: int, frame: object) -> None:
    with lock:  # a handler may take locks and log, as it could before patching
        got.append(threading.current_thread().name)
    woken.set()


lock = threading.Lock()
check(signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL, "default handler")
previous = signal.signal(signal.SIGUSR1, on_usr1)
check(previous == signal.SIG_DFL, "signal() returns the previous handler")
check(signal.getsignal(signal.SIGUSR1) is on_usr1, "getsignal reports the handler")


def sender() -> None:  # a separate process, so no green thread of ours is running when it arrives
    pid = os.getpid()
    child = os.fork()
    if child == 0:
        import time as t

        t.sleep(0.3)
        os.kill(pid, signal.SIGUSR1)
        os._exit(0)
    return child


waiter_result: list[bool] = []
waiter = threading.Thread(target=lambda: waiter_result.append(woken.wait(10)))
waiter.start()
child = sender()
start = time.monotonic()
check(woken.wait(10), "the handler ran while every thread was parked")
check(time.monotonic() - start < 5, "promptly")
waiter.join(10)
check(waiter_result == [True], "a green thread waiting on the Event woke too")
os.waitpid(child, 0)
# KeyboardInterrupt from the default SIGINT handler reaches the main thread, wherever it is raised
if RUNTIME != "none":
    def interrupter() -> None:
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)

    t = threading.Thread(target=interrupter, daemon=True)
    t.start()
    try:
        time.sleep(10)
        check(False, "KeyboardInterrupt expected")
    except KeyboardInterrupt:
        pass
# an alarm-based timeout raises in the main thread
class Alarm(Exception):
    pass


def on_alarm(signum: int, frame: object) -> None:
    raise Alarm


signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.2)
try:
    threading.Event().wait(10)
    check(False, "Alarm expected")
except Alarm:
    pass
signal.signal(signal.SIGUSR1, signal.SIG_DFL)
check(signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL, "restored")
print("pass")
