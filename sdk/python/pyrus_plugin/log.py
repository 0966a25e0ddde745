"""Logging into the host's log, tagged there with the plugin and the call. The host caps
messages per call and their length, and escapes them. Natively (in tests) messages are
recorded in ``pyrus_plugin.testing.logs()``.

>>> from pyrus_plugin import log
>>> log.info("task 42: nothing to do")
"""

from __future__ import annotations

from ._host import IN_HOST, fakes

_LEVELS = ("trace", "debug", "info", "warn", "error")


def write(level: str, message: str) -> None:
    """Writes one message at ``level`` (trace, debug, info, warn, error)."""
    if level not in _LEVELS:
        raise ValueError(f"unknown log level {level!r}")
    # Text that is not valid UTF-8 (lone surrogates) cannot cross into the host as is.
    message = str(message).encode("utf-8", "replace").decode("utf-8")
    if IN_HOST:
        from wit_world.imports import log as host_log

        host_log.log(host_log.Level[level.upper()], message)
    else:
        fakes.logs.append((level, message))


def trace(message: str) -> None:
    write("trace", message)


def debug(message: str) -> None:
    write("debug", message)


def info(message: str) -> None:
    write("info", message)


def warn(message: str) -> None:
    write("warn", message)


def error(message: str) -> None:
    write("error", message)
