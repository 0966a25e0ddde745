"""Failures a plugin reports on purpose, and what the host knows about a call."""

from __future__ import annotations

from dataclasses import dataclass


class PluginError(Exception):
    """A failure the plugin reports on purpose: raise it from a handler.

    The host answers ``{"error": message, "error_code": code}`` with ``status`` (400-599),
    or by default 500 for bots (so that Pyrus retries the call) and 400 for extensions.
    The message reaches the caller and the host log: never put secrets or tokens in it.

    >>> e = PluginError("bad_credentials", "the token is not valid", status=401)
    >>> (e.code, e.message, e.status)
    ('bad_credentials', 'the token is not valid', 401)
    """

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def bad_request(cls, message: str) -> "PluginError":
        """An ``invalid_request`` answered 400: the body was not what the plugin needs.

        >>> PluginError.bad_request("no task").status
        400
        """
        return cls("invalid_request", message, 400)

    def with_status(self, status: int) -> "PluginError":
        """The same error, answered with ``status``."""
        self.status = status
        return self


def not_supported(method: str) -> PluginError:
    """The error an unimplemented extension webhook answers: ``not_supported``, status 501.

    >>> e = not_supported("createdialog")
    >>> (e.code, e.status, e.message)
    ('not_supported', 501, 'this extension does not implement /createdialog')
    """
    return PluginError("not_supported", f"this extension does not implement /{method}", 501)


@dataclass
class CallInfo:
    """What the host knows about the call, besides the body.

    >>> call = CallInfo("hello", attempt=2, max_attempts=3)
    >>> call.is_retry
    True
    """

    #: The name the plugin is configured under (``[bots.NAME]`` or ``[extensions.NAME]``).
    name: str
    #: Which delivery attempt this is (from ``X-Pyrus-Retry``); 1 for the first.
    attempt: int = 1
    #: How many attempts Pyrus makes in all, when it said so.
    max_attempts: int | None = None
    #: The caller's ``User-Agent``, e.g. ``Pyrus-Bot-4``.
    user_agent: str | None = None
    #: The ``settings`` string of this plugin's entry in the host config, verbatim.
    settings: str | None = None

    @property
    def is_retry(self) -> bool:
        """True when Pyrus already tried this call and is trying again."""
        return self.attempt > 1
