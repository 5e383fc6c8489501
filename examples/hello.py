import greenlane

start: greenlane.Event[None] = greenlane.Event()


def job(name: str, seconds: float) -> str:
    start.wait()  # every job waits for the start signal
    greenlane.sleep(seconds)  # stands in for a slow call; the other jobs run meanwhile
    return f"{name} took {seconds} s"


threads = [greenlane.spawn(job, f"job{i}", i / 10) for i in (1, 2, 3)]
start.send()
print([t.wait() for t in threads])  # all three done in about 0.3 s, not 0.6 s

with greenlane.Timeout(0.1, False):  # False: the with-block swallows its own expiry
    greenlane.sleep(10)
print("gave up waiting after 0.1 s")
