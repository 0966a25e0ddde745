"""Outbound HTTP through the host (``wasi:http/outgoing-handler``), blocking and small:
build a ``Request``, ``send`` it, read the ``Response``.

The host lets a request out only to the plugin's ``allowed_outbound_hosts`` and caps the
requests per call, their time and the response size; a refused request raises
``HttpError`` with ``kind == "denied"``. Natively, tests answer requests with
``testing.respond_http(...)``; without it every request is denied.

>>> from pyrus_plugin import http, testing
>>> testing.respond_http(lambda req: http.Response(200, [], b'{"ok": true}'))
>>> http.send(http.Request.post("https://example.com/api").json({"a": 1})).json()
{'ok': True}
"""

from __future__ import annotations

import json as _json
from dataclasses import dataclass, field
from typing import Any

from ._host import IN_HOST, fakes
from .errors import PluginError


class HttpError(PluginError):
    """An outbound request failed. It fails the call with 502 ``upstream_error``;
    ``kind`` is ``denied``, ``invalid_url``, ``too_large``, ``timeout``, ``json`` or
    ``failed``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__("upstream_error", message, 502)
        self.kind = kind


@dataclass
class Request:
    """An HTTP request to send."""

    method: str
    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def get(cls, url: str) -> "Request":
        return cls("GET", url)

    @classmethod
    def post(cls, url: str) -> "Request":
        return cls("POST", url)

    def header(self, name: str, value: str) -> "Request":
        self.headers.append((name, value))
        return self

    def bearer(self, token: str) -> "Request":
        """Adds ``Authorization: Bearer token``."""
        return self.header("Authorization", f"Bearer {token}")

    def json(self, value: Any) -> "Request":
        """A JSON body, with its content type."""
        self.body = _json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        return self.header("Content-Type", "application/json")

    def with_body(self, body: bytes | str) -> "Request":
        self.body = body.encode() if isinstance(body, str) else bytes(body)
        return self

    def __repr__(self) -> str:
        # Never the headers or body: they carry tokens. Nor the query: it may too.
        return f"Request({self.method} {_shown(self.url)})"


@dataclass
class Response:
    """A response: status, headers (names in lower case) and the whole body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def json(self) -> Any:
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise HttpError("json", f"the response is not the JSON expected: {e}") from None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        # Header values and the body may carry tokens (set-cookie, an access_token).
        names = [k for k, _ in self.headers]
        return f"Response({self.status}, headers={names}, body={len(self.body)} bytes)"


def _shown(url: str) -> str:
    """A URL as errors may show it: without query or fragment (they may carry tokens)."""
    return url.split("?")[0].split("#")[0][:100]


def split_url(url: str) -> tuple[bool, str, str]:
    """``https://host:port/path?q#f`` → (https, ``host:port``, ``/path?q``); the fragment is
    never sent.

    >>> split_url("https://api.pyrus.com/v4/tasks?x=1#frag")
    (True, 'api.pyrus.com', '/v4/tasks?x=1')
    """
    url = url.split("#", 1)[0]
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise HttpError("invalid_url", f"invalid URL {_shown(url)!r}")
    cut = min([i for i in (rest.find("/"), rest.find("?")) if i >= 0], default=len(rest))
    authority, path = rest[:cut], rest[cut:] or "/"
    if not authority:
        raise HttpError("invalid_url", f"invalid URL {_shown(url)!r}")
    if path.startswith("?"):
        path = "/" + path
    return scheme.lower() == "https", authority, path


def send(request: Request) -> Response:
    """Sends ``request`` and waits for the whole response."""
    https, authority, path = split_url(request.url)
    if not IN_HOST:
        fakes.sent.append(request)
        if fakes.http is None:
            raise HttpError("denied", "the host denied the request (allowed_outbound_hosts)")
        return fakes.http(request)
    return _send_in_host(request, https, authority, path)


def _failed(code: Any) -> HttpError:
    name = type(code).__name__
    if name.endswith("HttpRequestDenied"):
        return HttpError("denied", "the host denied the request (allowed_outbound_hosts)")
    if name.endswith("HttpResponseBodySize"):
        return HttpError("too_large", "the response is over the host's limit")
    if name.endswith(("ConnectionTimeout", "ConnectionReadTimeout", "HttpResponseTimeout")):
        return HttpError("timeout", "no response in time")
    return HttpError("failed", f"the request failed: {name.removeprefix('ErrorCode_')}")


def _send_in_host(request: Request, https: bool, authority: str, path: str) -> Response:
    from componentize_py_types import Err, Ok
    from wit_world.imports import outgoing_handler, streams
    from wit_world.imports import wasi_http_types as t

    try:
        headers = t.Fields.from_list([(k, v.encode()) for k, v in request.headers])
    except Err as e:
        raise HttpError("failed", f"invalid header: {type(e.value).__name__}") from None
    outgoing = t.OutgoingRequest(headers)
    methods = {"GET": t.Method_Get(), "POST": t.Method_Post(), "PUT": t.Method_Put(),
               "DELETE": t.Method_Delete(), "PATCH": t.Method_Patch(), "HEAD": t.Method_Head()}
    method = request.method.upper()
    try:
        outgoing.set_method(methods.get(method) or t.Method_Other(method))
        outgoing.set_scheme(t.Scheme_Https() if https else t.Scheme_Http())
        outgoing.set_authority(authority)
        outgoing.set_path_with_query(path)
    except Err:
        raise split_url_error(request.url) from None
    body = outgoing.body()
    try:
        pending = outgoing_handler.handle(outgoing, None)
    except Err as e:
        raise _failed(e.value) from None
    stream = body.write()
    try:
        # The stream takes at most 4096 bytes per blocking write.
        for i in range(0, len(request.body), 4096):
            stream.blocking_write_and_flush(request.body[i:i + 4096])
    except Err as e:
        raise HttpError("failed", f"writing the body: {type(e.value).__name__}") from None
    finally:
        stream.__exit__(None, None, None)
    try:
        t.OutgoingBody.finish(body, None)
    except Err as e:
        raise _failed(e.value) from None
    pollable = pending.subscribe()
    pollable.block()
    pollable.__exit__(None, None, None)
    result = pending.get()
    if not isinstance(result, Ok) or not isinstance(result.value, Ok):
        inner = getattr(getattr(result, "value", None), "value", None)
        raise _failed(inner) if inner is not None else HttpError("failed", "no response")
    response = result.value.value
    status = response.status()
    resp_headers = [(k, v.decode("utf-8", "replace")) for k, v in response.headers().entries()]
    incoming = response.consume()
    chunks: list[bytes] = []
    reader = incoming.stream()
    try:
        while True:
            try:
                chunks.append(reader.blocking_read(64 * 1024))
            except Err as e:
                if isinstance(e.value, streams.StreamError_Closed):
                    break
                text = e.value.value.to_debug_string() if hasattr(e.value, "value") else ""
                first = text.splitlines()[0] if text else "reading the body failed"
                if "body size exceeds limit" in first:
                    raise HttpError("too_large", "the response is over the host's limit") from None
                raise HttpError("failed", f"the request failed: {first}") from None
    finally:
        reader.__exit__(None, None, None)
    return Response(status, resp_headers, b"".join(chunks))


def split_url_error(url: str) -> HttpError:
    return HttpError("invalid_url", f"invalid URL {_shown(url)!r}")
