"""Cooperative versions of stdlib modules: ``greenlane.green.socket``, ``.ssl``, ``.select``, ...

Each module declares the names it replaces in ``__implements__`` and falls
through to the stdlib module for everything else, so
``from greenlane.green import socket`` can stand in for ``import socket``.
Importing them patches nothing; ``greenlane.monkey_patch()`` installs them.
"""
