"""A queue.SimpleQueue made before patching: swapped for a green one (items kept, in order) where every
reference to it can be rewritten; one that cannot be is named in the MonkeyPatchWarning."""
import queue
import warnings

EARLY = queue.SimpleQueue()
EARLY.put("first")
EARLY.put("second")
HIDDEN = [queue.SimpleQueue()]  # held by a list: cannot be rewritten


class Holder:
    def __init__(self) -> None:
        self.jobs = queue.SimpleQueue()


holder = Holder()

from _runtime import PATCHED, RUNTIME, check, patch  # noqa: E402

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    patch()
import threading  # noqa: E402

if PATCHED and RUNTIME == "greenlane":
    check(type(EARLY).__module__.startswith("greenlane"), f"a module-level queue is green: {EARLY!r}")
    check(type(holder.jobs).__module__.startswith("greenlane"), "an attribute's queue is green")
    check(type(HIDDEN[0]) is not type(EARLY), "a queue held in a list stays the C one")
    messages = " ".join(str(w.message) for w in caught)
    check("queue.SimpleQueue(s) created before patching stay C queues" in messages, messages)
check([EARLY.get(), EARLY.get()] == ["first", "second"], "its items, in order")

# A green thread waits in get() while another puts: with the C queue this froze the hub.
got: list[str] = []
getter = threading.Thread(target=lambda: got.append(holder.jobs.get(timeout=10)))
getter.start()
putter = threading.Thread(target=holder.jobs.put, args=("late",))
putter.start()
getter.join(20)
putter.join(20)
check(got == ["late"], f"the waiting get got the item: {got}")
print("pass")
