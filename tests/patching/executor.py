"""concurrent.futures.ThreadPoolExecutor, imported before patching, runs its workers as green threads."""
import concurrent.futures  # noqa: F401  (imported before patching on purpose)

from _runtime import PATCHED, check, patch, same_os_thread

patch()
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor, as_completed, wait  # noqa: E402


def job(n: int) -> tuple[int, bool]:
    time.sleep(0.3)
    return n * n, same_os_thread()


start = time.monotonic()
with ThreadPoolExecutor(max_workers=8) as pool:
    futures = [pool.submit(job, i) for i in range(8)]
    done, _ = wait(futures, timeout=10)
    check(len(done) == 8, "all futures done")
    results = sorted(f.result()[0] for f in as_completed(futures))
    check(results == [i * i for i in range(8)], f"results {results}")
    if PATCHED:
        check(all(f.result()[1] for f in futures), "workers run in the main OS thread")
    check(list(pool.map(lambda x: x + 1, range(5))) == [1, 2, 3, 4, 5], "map")
elapsed = time.monotonic() - start
check(elapsed < 1.8, f"eight 0.3 s jobs overlap (took {elapsed:.2f} s; 2.4 s one after another)")
# a second executor submitting from several green threads at once (the global shutdown lock)
import threading  # noqa: E402

pool2 = ThreadPoolExecutor(max_workers=4)
got: list[int] = []
def submit(i: int) -> None:
    got.append(pool2.submit(job, i).result()[0])


submitters = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
for t in submitters:
    t.start()
for t in submitters:
    t.join(10)
pool2.shutdown(wait=True)
check(sorted(got) == [0, 1, 4, 9], f"concurrent submit: {got}")
print("pass")
