"""The component's exports: the classes componentize-py calls (``Bot``, ``Extension``,
``Inbound``), dispatching to what the plugin registered with ``export_bot`` or
``export_extension``. The build script's entry module imports the plugin's ``app`` module
(which registers) and then these classes.

Everything that crosses the boundary is converted here, so that plugin code sees only the
SDK's types, and every failure becomes a ``plugin-error`` the host can answer: a
``PluginError`` as raised, any other exception as 500 ``plugin_failed`` (its traceback goes
to the host log, not to the caller).
"""

from __future__ import annotations

import traceback
from typing import Any, Callable

from .errors import CallInfo, PluginError
from .extension import Extension as _ExtensionBase, InboundRequest, dispatch
from .models import BotRequest
from .reply import BotReply, to_json

_registered: dict[str, Any] = {}


def export_bot(handler: Callable[[BotRequest, CallInfo], Any]) -> Callable:
    """Makes ``handler`` the plugin's bot: ``handler(request, call)`` returns a
    ``BotReply`` (or a dict, the comment's JSON), or None to answer an empty 200, or raises
    ``PluginError``. Use it once, in the plugin's ``app.py``; it returns ``handler``, so it
    works as a decorator.

    >>> from pyrus_plugin import BotReply, export_bot
    >>> @export_bot
    ... def handle(req, call):
    ...     return BotReply().text("Hello").approve()
    """
    _registered["bot"] = handler
    return handler


def export_extension(extension: _ExtensionBase | type, *, inbound: bool = False) -> Any:
    """Makes ``extension`` (an ``Extension`` subclass or instance) the plugin's extension.
    With ``inbound=True`` calls from the external system reach ``extension.inbound``; the
    plugin's pyproject.toml must then name the ``extension-inbound-plugin`` world (which
    decides what the component exports) and the host config set ``inbound = true``.
    Returns its argument, so it works as a class decorator.
    """
    instance = extension() if isinstance(extension, type) else extension
    _registered["extension"] = instance
    _registered["inbound"] = inbound
    return extension


def registered(kind: str) -> Any:
    try:
        return _registered[kind]
    except KeyError:
        raise RuntimeError(f"the plugin's app module exports no {kind} "
                           f"(call export_{kind}(...) in app.py)") from None


def call_info(info: Any) -> CallInfo:
    return CallInfo(info.name, info.attempt, info.max_attempts, info.user_agent, info.settings)


def bot_reply(reply: Any) -> str | None:
    """The JSON text of a handler's reply."""
    if reply is None:
        return None
    if isinstance(reply, BotReply):
        return reply.to_json()
    if isinstance(reply, dict):
        return to_json(reply)
    if isinstance(reply, str):
        return reply
    raise TypeError(f"a bot returns a BotReply, a dict or None, not {type(reply).__name__}")


def run_bot(call: CallInfo, body: str) -> str | None:
    return bot_reply(registered("bot")(BotRequest.parse(body), call))


def _guard(work: Callable[[], Any]) -> Any:
    """Runs ``work`` and turns its failures into the WIT ``plugin-error``."""
    from componentize_py_types import Err
    from wit_world.imports.pyrus_plugin_types import PluginError as WitError

    try:
        return work()
    except PluginError as e:
        # Values the WIT record cannot carry (a status past u16) would trap at the boundary.
        status = e.status if isinstance(e.status, int) and 100 <= e.status <= 599 else None
        raise Err(WitError(str(e.code), str(e.message), status)) from None
    except Exception as e:  # noqa: BLE001 - every failure must become an answer
        from . import log

        log.error("".join(traceback.format_exception(e))[-4000:])
        raise Err(WitError("plugin_failed", f"the plugin raised {type(e).__name__}", 500)) from None


_METHODS = {
    "Method_Pulse": "pulse", "Method_Authorize": "authorize", "Method_Toggle": "toggle",
    "Method_Event": "event", "Method_SendMessage": "sendmessage",
    "Method_CreateDialog": "createdialog", "Method_GetAvailableNumbers": "getavailablenumbers",
}


class Bot:
    """``pyrus:plugin/bot``: what componentize-py calls for a bot."""

    def handle(self, info: Any, request: str) -> str | None:
        return _guard(lambda: run_bot(call_info(info), request))


class Extension:
    """``pyrus:plugin/extension``: what componentize-py calls for an extension."""

    def handle(self, info: Any, method: Any, request: str) -> str | None:
        name = _METHODS.get(type(method).__name__) or str(getattr(method, "value", "other"))
        return _guard(lambda: dispatch(registered("extension"), name, call_info(info), request))


class Inbound:
    """``pyrus:plugin/inbound``: calls from the external system an extension bridges."""

    def handle(self, info: Any, request: Any) -> Any:
        from wit_world.exports.inbound import InboundResponse as WitResponse

        def work() -> Any:
            req = InboundRequest(request.method, request.path, request.query,
                                 list(request.headers), bytes(request.body))
            if not _registered.get("inbound"):
                raise PluginError("not_supported", "this extension takes no inbound calls", 404)
            out = registered("extension").inbound(req, call_info(info))
            if not isinstance(out.status, int) or not 100 <= out.status <= 599:
                raise ValueError(f"an inbound response status must be 100-599, not {out.status!r}")
            headers = [(str(k), str(v)) for k, v in out.headers]
            return WitResponse(out.status, headers, bytes(out.body))

        return _guard(work)
