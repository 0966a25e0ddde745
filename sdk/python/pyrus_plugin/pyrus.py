"""Calling Pyrus back, on top of outbound HTTP: the Pyrus API (v4) for bots and the
Extensions API (v1) for extensions. The host must allow the API's host in the plugin's
``allowed_outbound_hosts`` (``https://api.pyrus.com``, ``https://extensions.pyrus.com``,
and ``https://accounts.pyrus.com`` for ``PyrusApi.authenticate``).

A bot that comments on the task with the webhook's token:

>>> from pyrus_plugin import BotRequest, BotReply, http, testing
>>> from pyrus_plugin.pyrus import PyrusApi
>>> testing.respond_http(lambda req: http.Response(200, [], b'{"task": {"id": 5}}'))
>>> req = BotRequest.parse('{"task_id": 5, "access_token": "t0k"}')
>>> PyrusApi.for_bot(req).comment_task(5, BotReply().text("Done"))
{'task': {'id': 5}}
>>> testing.sent()[-1].url
'https://api.pyrus.com/v4/tasks/5/comments'

Rate limits surface as ``ApiError`` with code ``rate_limited`` (status 503, so Pyrus
retries later). Tokens never show in ``repr`` or errors.
"""

from __future__ import annotations

from typing import Any

from . import http
from .errors import PluginError
from .models import BotRequest
from .reply import BotReply

DEFAULT_API_URL = "https://api.pyrus.com/v4/"
ACCOUNTS_URL = "https://accounts.pyrus.com/api/v4/"
EXTENSIONS_API_URL = "https://extensions.pyrus.com/v1/"


class ApiError(PluginError):
    """A Pyrus API call failed: 503 ``rate_limited`` for the rate limit (with ``limit``,
    ``remaining``, ``reset_seconds`` from ``X-RateLimit-*``), else 502
    ``pyrus_api_error`` (``status`` of Pyrus's answer in ``api_status``)."""

    def __init__(self, code: str, message: str, status: int, **details: Any) -> None:
        super().__init__(code, message, status)
        self.details = details


def _base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _call(request: http.Request) -> Any:
    try:
        response = http.send(request)
    except http.HttpError as e:
        raise ApiError("pyrus_api_error", e.message, 502) from None
    return _check(response)


def _check(response: http.Response) -> Any:
    def number(name: str) -> int | None:
        value = (response.header(name) or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None

    if response.status == 429:
        reset = number("X-RateLimit-Reset")
        message = "Pyrus rate limit reached" + (f", resets in {reset} s" if reset is not None else "")
        raise ApiError("rate_limited", message, 503, limit=number("X-RateLimit-Limit"),
                       remaining=number("X-RateLimit-Remaining"), reset_seconds=reset)
    try:
        data = response.json() if response.body else None
    except http.HttpError:
        data = None
    if 200 <= response.status < 300:
        return data
    code = data.get("error_code") if isinstance(data, dict) else None
    text = data.get("error") if isinstance(data, dict) else None
    message = text if isinstance(text, str) else response.text()[:200]
    raise ApiError("pyrus_api_error",
                   f"Pyrus answered {response.status} {code or 'unknown'}: {message}", 502,
                   api_status=response.status)


class PyrusApi:
    """The Pyrus API (v4) as a bot."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = _base(api_url)
        self._token = token

    def __repr__(self) -> str:
        return f"PyrusApi({self.api_url!r}, token=***)"

    @classmethod
    def for_bot(cls, request: BotRequest) -> "PyrusApi":
        """A client with the webhook's ``access_token`` (valid 15 minutes) and ``api_url``."""
        if not request.access_token:
            raise ApiError("pyrus_api_error", "the webhook carried no access_token", 502)
        return cls(request.api_url or DEFAULT_API_URL, request.access_token)

    @classmethod
    def authenticate(cls, accounts_url: str, login: str, security_key: str) -> "PyrusApi":
        """Authenticates with the bot's login and security key (``POST {accounts_url}auth``)
        for work that outlives the webhook's token."""
        reply = _call(http.Request.post(f"{_base(accounts_url)}auth")
                      .json({"login": login, "security_key": security_key}))
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(token, str):
            raise ApiError("pyrus_api_error", "Pyrus answered no access_token", 502)
        api_url = reply.get("api_url")
        return cls(api_url if isinstance(api_url, str) and api_url else DEFAULT_API_URL, token)

    def get(self, path: str) -> Any:
        """``GET {api_url}{path}`` with the token; the JSON answer."""
        return _call(http.Request.get(f"{self.api_url}{path}").bearer(self._token))

    def post(self, path: str, body: Any) -> Any:
        """``POST {api_url}{path}`` with the token and a JSON body."""
        return _call(http.Request.post(f"{self.api_url}{path}").bearer(self._token).json(body))

    def comment_task(self, task_id: int, comment: BotReply | dict) -> Any:
        """Adds a comment (``POST /tasks/{id}/comments``); a ``BotReply`` is one."""
        body = comment.to_dict() if isinstance(comment, BotReply) else comment
        return self.post(f"tasks/{task_id}/comments", body)

    def get_task(self, task_id: int) -> Any:
        """The task with its comments (``GET /tasks/{id}``)."""
        return self.get(f"tasks/{task_id}")


class ExtensionsApi:
    """The Pyrus Extensions API (v1), as an extension."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = _base(base_url)
        self._token = token

    def __repr__(self) -> str:
        return f"ExtensionsApi({self.base!r}, token=***)"

    @classmethod
    def authenticate(cls, base_url: str, client_id: str, secret: str) -> "ExtensionsApi":
        """Gets a token (``POST {base}token`` with the extension's client id and secret)."""
        reply = _call(http.Request.post(f"{_base(base_url)}token")
                      .json({"client_id": client_id, "secret": secret}))
        token = reply.get("access_token") if isinstance(reply, dict) else None
        if not isinstance(token, str):
            raise ApiError("pyrus_api_error", "Pyrus answered no access_token", 502)
        return cls(base_url, token)

    def _post(self, path: str, body: Any) -> Any:
        return _call(http.Request.post(f"{self.base}{path}").bearer(self._token).json(body))

    def get_message(self, account_id: str, channel_id: str, message_text: str,
                    sender_name: str | None = None) -> Any:
        """Delivers a message from the external system into Pyrus (``POST /getmessage``)."""
        body = {"account_id": account_id, "channel_id": channel_id, "message_text": message_text}
        if sender_name is not None:
            body["sender_name"] = sender_name
        return self._post("getmessage", body)

    def create_task(self, task: dict) -> Any:
        """Creates a task in the extension's form (``POST /task``)."""
        return self._post("task", task)
