"""Testing a plugin natively with plain ``pytest``, without building wasm: run the
handler on a JSON body as the host would, with the capabilities on in-memory fakes.

>>> from pyrus_plugin import BotReply, export_bot, testing, log
>>> @export_bot
... def handle(req, call):
...     log.info(f"task {req.task_id}")
...     return BotReply().text("Hello").approve()
>>> testing.reset()
>>> testing.handle_json('{"task_id": 7}')
'{"text":"Hello","approval_choice":"approved"}'
>>> testing.logs()
[('info', 'task 7')]
"""

from __future__ import annotations

from typing import Any, Callable

from . import _export
from ._host import Fakes, fakes
from .errors import CallInfo
from .extension import Extension, dispatch


def reset() -> None:
    """Forgets logs, stores, variables, HTTP responders and sent requests."""
    fresh = Fakes()
    for name in fresh.__dataclass_fields__:
        setattr(fakes, name, getattr(fresh, name))


def handle_json(body: str, call: CallInfo | None = None, handler: Callable | None = None) -> str | None:
    """Runs the exported bot (or ``handler``) on ``body``: the reply's JSON text, None for
    an empty answer; a ``PluginError`` is raised as the host would answer it."""
    call = call or CallInfo("test")
    if handler is None:
        return _export.run_bot(call, body)
    from .models import BotRequest

    return _export.bot_reply(handler(BotRequest.parse(body), call))


def handle_extension_json(extension: Extension | None, method: str, body: str = "",
                          call: CallInfo | None = None) -> str | None:
    """Runs an extension's webhook ``method`` (``authorize``, ``sendmessage``, ...) on
    ``body``, as the host would; ``extension`` None means the exported one."""
    ext = extension if extension is not None else _export.registered("extension")
    return dispatch(ext, method, call or CallInfo("test"), body)


def logs() -> list[tuple[str, str]]:
    """Every message logged since ``reset()``, as (level, message)."""
    return list(fakes.logs)


def set_variables(variables: dict[str, str]) -> None:
    """The variables ``pyrus_plugin.variables`` answers."""
    fakes.variables = dict(variables)


def grant_store(name: str, contents: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Grants the store ``name`` (``default`` is granted after ``reset()``); returns its
    contents, a dict the test can read and change."""
    fakes.stores[name] = dict(contents or {})
    return fakes.stores[name]


def deny_stores() -> None:
    """No store is granted: ``Store.open`` raises as in a host without ``key_value_stores``."""
    fakes.stores = {}


def respond_http(responder: Callable[[Any], Any] | None) -> None:
    """Answers outbound requests with ``responder(request) -> http.Response``; None denies
    them all (as a host without ``allowed_outbound_hosts`` does)."""
    fakes.http = responder


def sent() -> list[Any]:
    """Every outbound request sent since ``reset()``."""
    return list(fakes.sent)
