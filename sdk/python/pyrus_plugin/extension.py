"""Writing an extension: subclass ``Extension`` (only the webhooks you use) and export it
with ``export_extension``. Each webhook Pyrus calls on the extension's base URL reaches the
method of the same name; the others answer ``not_supported`` (501), so Pyrus knows the
extension does not offer them.

>>> class Keys(Extension):
...     def authorize(self, req, call):
...         token = req.credential("token")
...         if not token or len(token) < 8:
...             raise PluginError("bad_credentials", "the token is not valid")
...         return AuthorizeReply(token[:8], "My account")
>>> from pyrus_plugin.testing import handle_extension_json
>>> handle_extension_json(Keys(), "authorize", '{"credentials":[{"code":"token","value":"0123456789"}]}')
'{"account_id":"01234567","account_name":"My account"}'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field as _field
from typing import Any

from .errors import CallInfo, PluginError, not_supported
from .models import _dict, _list, _str, _ids, Id


class Credential:
    """One credential the user entered when connecting the extension (``code`` is declared
    in the extension's settings in Pyrus, e.g. ``login``, ``password``, ``token``). Its
    ``repr`` hides the value: it is often a password."""

    __slots__ = ("code", "value")

    def __init__(self, code: str, value: str) -> None:
        self.code = code
        self.value = value

    def __repr__(self) -> str:
        return f"Credential(code={self.code!r}, value=***)"


def _credentials(value: Any) -> list[Credential]:
    return [Credential(c["code"], _str(c.get("value")) or "")
            for c in _list(value) if isinstance(c, dict) and isinstance(c.get("code"), str)]


class _WithCredentials:
    credentials: list[Credential]

    def credential(self, code: str) -> str | None:
        """The value of the credential with this code."""
        return next((c.value for c in self.credentials if c.code == code), None)


def _parse(body: str) -> dict:
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError) as e:
        raise PluginError.bad_request(f"the body is not understood: {type(e).__name__}") from None
    if not isinstance(data, dict):
        raise PluginError.bad_request("the body is not understood: not a JSON object")
    return data


@dataclass(repr=False)
class AuthorizeRequest(_WithCredentials):
    """``POST /authorize``: a user connects the extension, with credentials or an OAuth
    ``authorization_code``."""

    credentials: list[Credential] = _field(default_factory=list)
    authorization_code: str | None = None
    redirect_uri: str | None = None
    state: str | None = None
    raw: dict = _field(default_factory=dict)

    @classmethod
    def parse(cls, body: str) -> "AuthorizeRequest":
        d = _parse(body)
        return cls(_credentials(d.get("credentials")), _str(d.get("authorization_code")),
                   _str(d.get("redirect_uri")), _str(d.get("state")), d)


@dataclass(repr=False)
class ToggleRequest(_WithCredentials):
    """``POST /toggle``: the extension was enabled, disabled or deleted in a form."""

    account_id: str | None = None
    enabled: bool = False
    deleted: bool = False
    credentials: list[Credential] = _field(default_factory=list)
    raw: dict = _field(default_factory=dict)

    @classmethod
    def parse(cls, body: str) -> "ToggleRequest":
        d = _parse(body)
        return cls(_account(d.get("account_id")), d.get("enabled") is True,
                   d.get("deleted") is True, _credentials(d.get("credentials")), d)


@dataclass(repr=False)
class SendMessageRequest(_WithCredentials):
    """``POST /sendmessage``: an operator replied in Pyrus; deliver it outside."""

    account_id: str | None = None
    channel_id: str | None = None
    message_text: str = ""
    attachment_ids: list[Id] = _field(default_factory=list)
    credentials: list[Credential] = _field(default_factory=list)
    raw: dict = _field(default_factory=dict)

    @classmethod
    def parse(cls, body: str) -> "SendMessageRequest":
        d = _parse(body)
        return cls(_account(d.get("account_id")), _account(d.get("channel_id")),
                   _str(d.get("message_text")) or "", _ids(d.get("attachment_ids")),
                   _credentials(d.get("credentials")), d)

    def channel(self) -> str:
        """The channel to deliver to; a 400 ``invalid_request`` when the body has none."""
        if not self.channel_id:
            raise PluginError.bad_request("channel_id is missing")
        return self.channel_id


@dataclass(repr=False)
class ExtensionRequest(_WithCredentials):
    """The body of ``/event``, ``/createdialog`` and ``/getavailablenumbers``: the common
    parts typed, everything in ``raw``."""

    account_id: str | None = None
    channel_id: str | None = None
    credentials: list[Credential] = _field(default_factory=list)
    raw: dict = _field(default_factory=dict)

    @classmethod
    def parse(cls, body: str) -> "ExtensionRequest":
        d = _parse(body)
        return cls(_account(d.get("account_id")), _account(d.get("channel_id")),
                   _credentials(d.get("credentials")), d)


def _account(value: Any) -> str | None:
    # Account and channel ids are strings in the protocol, but some senders use numbers.
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, str)):
        return str(value)
    return None


def AuthorizeReply(account_id: str, account_name: str) -> dict:
    """The answer to ``/authorize``: the external account the user connected."""
    return {"account_id": account_id, "account_name": account_name}


def SendMessageReply(message_id: str | None = None) -> dict:
    """The answer to ``/sendmessage``: the external message's id, when there is one."""
    return {} if message_id is None else {"message_id": message_id}


class Extension:
    """A Pyrus extension. Override the webhooks you implement; each takes the parsed
    request and the ``CallInfo``. ``pulse`` answers "alive" by default, every other
    webhook ``not_supported`` (501)."""

    def pulse(self, call: CallInfo) -> None:
        """``GET /pulse``: is the extension alive? Default: yes."""

    def authorize(self, req: AuthorizeRequest, call: CallInfo) -> dict:
        """``POST /authorize``: check the credentials; return ``AuthorizeReply(...)``."""
        raise not_supported("authorize")

    def toggle(self, req: ToggleRequest, call: CallInfo) -> None:
        """``POST /toggle``: enabled, disabled or deleted in a form."""
        raise not_supported("toggle")

    def event(self, req: ExtensionRequest, call: CallInfo) -> None:
        """``POST /event``: an event in a task the extension watches."""
        raise not_supported("event")

    def send_message(self, req: SendMessageRequest, call: CallInfo) -> dict:
        """``POST /sendmessage``: deliver an operator's reply; return ``SendMessageReply``."""
        raise not_supported("sendmessage")

    def create_dialog(self, req: ExtensionRequest, call: CallInfo) -> Any:
        """``POST /createdialog``: an operator starts a conversation. Return any JSON."""
        raise not_supported("createdialog")

    def get_available_numbers(self, req: ExtensionRequest, call: CallInfo) -> Any:
        """``POST /getavailablenumbers``: a telephony extension lists its numbers."""
        raise not_supported("getavailablenumbers")

    def inbound(self, req: "InboundRequest", call: CallInfo) -> "InboundResponse":
        """A call from the external system on ``/extensions/NAME/inbound/...`` (exported
        with ``export_extension(..., inbound=True)`` and ``inbound = true`` in the host
        config). Pyrus does not sign these: verify the caller. Default: 404."""
        raise not_supported("inbound").with_status(404)


@dataclass
class InboundRequest:
    """An HTTP request from the external system an extension bridges."""

    method: str
    path: str
    query: str | None
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header with this name (case-insensitive)."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def json(self) -> Any:
        """The body as JSON; a 400 ``invalid_request`` when it is not."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as e:
            raise PluginError.bad_request(f"the body is not JSON: {type(e).__name__}") from None

    def __repr__(self) -> str:
        # Header values and the body may carry the external system's credentials.
        names = [k for k, _ in self.headers]
        return f"InboundRequest({self.method} {self.path}, headers={names}, body={len(self.body)} bytes)"


@dataclass
class InboundResponse:
    """The answer to an inbound call."""

    status: int = 200
    headers: list[tuple[str, str]] = _field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, value: Any) -> "InboundResponse":
        """A JSON answer.

        >>> InboundResponse.json(200, {"ok": True}).body
        b'{"ok":true}'
        """
        return cls(status, [("content-type", "application/json")],
                   json.dumps(value, separators=(",", ":")).encode())

    @classmethod
    def text(cls, status: int, text: str) -> "InboundResponse":
        return cls(status, [("content-type", "text/plain; charset=utf-8")], text.encode())


METHODS = {
    "pulse", "authorize", "toggle", "event", "sendmessage", "createdialog",
    "getavailablenumbers",
}


def dispatch(ext: Extension, method: str, call: CallInfo, body: str) -> str | None:
    """Parses the body for ``method`` (the webhook's URL segment), runs the extension's
    method and serializes its answer: what the exported ``handle`` does."""

    def out(value: Any) -> str | None:
        from .reply import to_json

        return None if value is None else to_json(value)

    if method == "pulse":
        ext.pulse(call)
        return None
    if method == "authorize":
        return out(ext.authorize(AuthorizeRequest.parse(body), call))
    if method == "toggle":
        ext.toggle(ToggleRequest.parse(body), call)
        return None
    if method == "event":
        ext.event(ExtensionRequest.parse(body), call)
        return None
    if method == "sendmessage":
        return out(ext.send_message(SendMessageRequest.parse(body), call))
    if method == "createdialog":
        return out(ext.create_dialog(ExtensionRequest.parse(body), call))
    if method == "getavailablenumbers":
        return out(ext.get_available_numbers(ExtensionRequest.parse(body), call))
    raise not_supported(method)
