"""eventlet's ``support.greendns`` names, as far as code outside eventlet imports them.

eventlet resolves names with dnspython, in Python, on green sockets.
greenlane asks libc instead, in a native thread (``greenlane.tpool``), so
``/etc/nsswitch.conf``, ``/etc/hosts`` and the system's resolver settings
apply exactly as without green threads (see ``greenlane.green.socket``).
So this module is only the names: the resolver functions are the very
objects ``greenlane.green.socket`` exports (code that checks
``socket.getaddrinfo is greendns.getaddrinfo`` sees they are), and the
address predicates. eventlet's dnspython machinery (``resolve``,
``resolver``, ``ResolverProxy``, ``HostsResolver``, ``udp``/``tcp``) has
no counterpart.
"""

from __future__ import annotations

import ipaddress

from ..green.socket import getaddrinfo, gethostbyaddr, gethostbyname, gethostbyname_ex, getnameinfo

__all__ = [
    "getaddrinfo",
    "gethostbyaddr",
    "gethostbyname",
    "gethostbyname_ex",
    "getnameinfo",
    "is_ip_addr",
    "is_ipv4_addr",
    "is_ipv6_addr",
]


def is_ipv4_addr(host: object) -> bool:
    """True if ``host`` is a dotted-quad IPv4 address (a str; anything else is False)."""
    if not isinstance(host, str):
        return False
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def is_ipv6_addr(host: object) -> bool:
    """True if ``host`` is an IPv6 address, a ``%scope`` suffix allowed (a str; anything else is False)."""
    if not isinstance(host, str):
        return False
    try:
        ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_ip_addr(host: object) -> bool:
    """True if ``host`` is an IPv4 or IPv6 address."""
    return is_ipv4_addr(host) or is_ipv6_addr(host)
