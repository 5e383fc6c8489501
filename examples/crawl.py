"""A simulated crawl: 20 slow page fetches run at once on green threads.

No network is needed: each fetch sleeps where a real one would wait on a
socket (green sockets and monkey patching come later). One server hangs and
a Timeout cuts it off; another refuses the connection and ``wait()`` re-raises
that error in the caller.
"""

from __future__ import annotations

import time

import greenlane

PAGES = 20
FETCH_SECONDS = 0.2  # a normal page
HANGING_PAGE = 13  # never answers
BROKEN_PAGE = 7  # refuses the connection after a moment
REFUSE_SECONDS = 0.05
FETCH_TIMEOUT = 0.5  # give up on a page after this long

start: greenlane.Event[None] = greenlane.Event()
finished_at: dict[int, float] = {}


def fetch(page: int) -> str:
    """Pretend to download a page: wait for the start signal, then take a while."""
    start.wait()
    if page == BROKEN_PAGE:
        greenlane.sleep(REFUSE_SECONDS)
        raise ConnectionRefusedError(f"page {page}: connection refused")
    greenlane.sleep(3600 if page == HANGING_PAGE else FETCH_SECONDS)
    return f"<html>page {page}</html>"


def crawl(page: int) -> int | None:
    """The page's size, or None if it took longer than FETCH_TIMEOUT."""
    try:
        with greenlane.Timeout(FETCH_TIMEOUT):
            body = fetch(page)
    except greenlane.Timeout:
        return None
    return len(body)


def note_finish(_thread: greenlane.GreenThread[int | None], page: int) -> None:
    finished_at[page] = time.monotonic()


def main() -> None:
    threads = [greenlane.spawn(crawl, page) for page in range(PAGES)]
    for page, thread in enumerate(threads):
        thread.link(note_finish, page)  # called when the thread ends, however it ends
    greenlane.sleep(0)  # let every crawler start and wait for the signal
    began = time.monotonic()
    start.send()
    fetched: list[int] = []
    timed_out: list[int] = []
    failed: list[str] = []
    for page, thread in enumerate(threads):
        try:
            size = thread.wait()  # the return value, or the exception the thread raised
        except ConnectionError as exc:
            failed.append(f"{page} ({exc})")
            continue
        (timed_out if size is None else fetched).append(page)
    wall = time.monotonic() - began
    good = max(finished_at[page] for page in fetched) - began
    serial = len(fetched) * FETCH_SECONDS + REFUSE_SECONDS + FETCH_TIMEOUT

    print(f"fetched:   {len(fetched)} pages, all in by {good:.2f} s: {fetched}")
    print(f"timed out: {timed_out} (cut off after {FETCH_TIMEOUT} s)")
    print(f"failed:    {', '.join(failed)}")
    print(f"all {PAGES} crawls took {wall:.2f} s of wall time; one after another: {serial:.2f} s")


if __name__ == "__main__":
    main()
