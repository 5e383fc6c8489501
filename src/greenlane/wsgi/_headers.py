"""Header helpers: request names to environ keys, response headers checked and encoded.

The response side is where response splitting would happen: a header name or
value from the application containing CR, LF or NUL (or a name with a colon
or space) is refused with a ``ValueError`` before anything is sent, so the
server answers 500 instead. Names seen once are cached with their checked,
capitalised and lower-case forms (bounded caches: names are chosen by the
application or, for the environ keys, by the client).
"""

from __future__ import annotations

import re
from typing import Any, Final, NamedTuple

__all__ = ["STATUS", "Head", "encode_header_line", "env_key", "head_lines", "response_head"]

# Header names and values the application may send: no CR, LF or NUL (response splitting).
_BAD_VALUE = re.compile(r"[\r\n\0]").search
# A response header name may not break the line structure; other latin-1 bytes pass, as
# in eventlet (RFC 9110 wants a token, but refusing here would break working apps).
_NAME = re.compile(r"[^\x00-\x20:\x7f]+").fullmatch
STATUS = re.compile(r"[1-9][0-9][0-9]( [^\r\n\0]*)?").fullmatch
# Header name (as received) -> environ key, or None for names with "_" (see get_environ).
_ENV_KEYS: dict[bytes, str | None] = {}
_ENV_KEYS_MAX = 512  # names are the client's choice: a bounded cache


def env_key(name: bytes) -> str | None:
    """The environ key for request header ``name`` (``HTTP_X_Y``; None for names with ``_``)."""
    key = _ENV_KEYS.get(name, "")
    if key == "":
        text = name.decode("latin-1")
        if "_" in text:
            key = None  # eventlet/nginx/gunicorn: "X_Y" must not pass for "X-Y"
        else:
            key = text.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
        if len(_ENV_KEYS) < _ENV_KEYS_MAX:
            _ENV_KEYS[name] = key
    return key


def _capitalize(name: str) -> str:
    """``CONTent-TYpe`` -> ``Content-Type`` (eventlet's normalisation: ASCII letters only)."""
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        return name  # refused with a clear error when the head is encoded
    return b"-".join(part.capitalize() for part in raw.split(b"-")).decode("latin-1")


def _latin1(text: Any, what: str, advice: str) -> bytes:
    """``str(text)`` in latin-1, or a ``UnicodeEncodeError`` saying which part of a header is wrong."""
    try:
        return str(text).encode("latin-1")
    except UnicodeEncodeError as exc:
        reason = f"WSGI response header {what} must be latin-1 (PEP 3333); {advice}"
        raise UnicodeEncodeError(exc.encoding, exc.object, exc.start, exc.end, reason) from None


def encode_header_line(header: tuple[Any, Any]) -> bytes:
    """``b"Name: value\\r\\n"`` in latin-1 (PEP 3333); a clear ``UnicodeEncodeError`` otherwise."""
    name, value = header
    raw_name = _latin1(name, "names", "HTTP header names are ASCII tokens")
    raw_value = _latin1(value, "values", "encode other text with RFC 8187 or percent-encoding")
    return raw_name + b": " + raw_value + b"\r\n"


# Response header name -> (as sent capitalised, as sent verbatim, lower case), for names
# already checked to be tokens. Bounded: names are the application's, usually a few dozen.
_NAMES: dict[str, tuple[str, str, str]] = {}
_NAMES_MAX = 1024


def _checked_name(name: Any) -> tuple[str, str, str]:
    """``(capitalised, verbatim, lower case)`` of a response header name; ValueError if unsafe."""
    known = _NAMES.get(name)
    if known is not None:
        return known
    text = name if isinstance(name, str) else str(name)
    if not _NAME(text):
        raise ValueError(f"invalid response header name {text!r}")
    known = (_capitalize(text), text, text.lower())
    if len(_NAMES) < _NAMES_MAX and isinstance(name, str):
        _NAMES[name] = known
    return known


def head_lines(headers: Any, capitalize: bool) -> tuple[list[str], bool, bool, bool]:
    """The application's headers as ``"Name: value\r\n"`` lines, refused if they could split
    the response (CR, LF or NUL anywhere, a name that is not a token); and whether they
    include Content-Length, Date and ``Connection: close``."""
    lines = []
    has_length = has_date = closes = False
    for name, raw_value in headers:
        sent, verbatim, lower = _checked_name(name)
        value = raw_value if isinstance(raw_value, str) else str(raw_value)
        if _BAD_VALUE(value):
            raise ValueError(f"response header {verbatim!r} has CR, LF or NUL in its value {value!r}")
        lines.append(f"{sent if capitalize else verbatim}: {value}\r\n")
        if lower == "content-length":
            has_length = True
        elif lower == "date":
            has_date = True
        elif lower == "connection" and value.lower() == "close":
            closes = True
    return lines, has_length, has_date, closes


class Head(NamedTuple):
    """A response head as ``start_response`` got it, checked and formatted.

    ``block``: the status line and the application's header lines (no blank line),
    in latin-1; the server adds Content-Length, Date, Connection and the blank line.
    """

    block: bytes
    code: int
    has_length: bool
    has_date: bool
    closes: bool
    bodyless: bool  # a status that never has a body: 1xx, 204, 304


# (protocol version, status, capitalize, header pairs) -> Head: most applications send
# the same few heads again and again, so the checks and formatting run once per head.
# Bounded (heads that vary per request, with cookies or lengths, just churn it).
_HEADS: dict[tuple[Any, ...], Head] = {}
HEADS_MAX: Final = 256


def response_head(version: str, status: Any, headers: Any, capitalize: bool) -> Head:
    """The checked head for ``start_response(status, headers)``.

    ``ValueError`` if it could split the response, ``UnicodeEncodeError`` if it is not
    latin-1: raised in ``start_response``, while the application can still see it (PEP 3333).
    """
    pairs = headers if type(headers) is tuple else tuple(headers)
    key: tuple[Any, ...] | None = (version, status, capitalize, pairs)
    try:
        head = _HEADS.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable header pair (a list): no caching
        head, key = None, None
    if head is not None:
        return head
    if not isinstance(status, str) or not STATUS(status):
        raise ValueError(f"invalid WSGI status {status!r}")
    lines, has_length, has_date, closes = head_lines(pairs, capitalize)
    try:
        block = f"{version} {status}\r\n{''.join(lines)}".encode("latin-1")
    except UnicodeEncodeError:
        for pair in pairs:
            encode_header_line(pair)  # raises, naming the culprit
        raise  # the status line
    code = int(status[:3])
    head = Head(block, code, has_length, has_date, closes, code in (204, 304) or code < 200)
    # Only heads made of plain str are cached: equal keys then mean equal text.
    if (
        key is not None
        and type(status) is str
        and all(type(name) is str and type(value) is str for name, value in pairs)
    ):
        if len(_HEADS) >= HEADS_MAX:
            _HEADS.clear()
        _HEADS[key] = head
    return head
