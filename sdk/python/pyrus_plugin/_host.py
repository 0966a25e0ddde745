"""Where the capabilities go: to the host (inside the WebAssembly component) or, in native
tests, to in-memory fakes that ``pyrus_plugin.testing`` sets up and inspects."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable

# componentize-py's CPython reports "wasi"; everywhere else the SDK runs on fakes.
IN_HOST = sys.platform == "wasi"

if IN_HOST:
    # componentize-py keeps only the binding modules imported while it pre-initialises the
    # app: import every one the capabilities use now, not when first called (a lazy import
    # of an unkept module fails at run time with ImportError).
    from wit_world.imports import (  # noqa: F401
        atomics, batch, log, outgoing_handler, pyrus_plugin_types, streams,
        wasi_config_store, wasi_http_types, wasi_keyvalue_store,
    )

    try:  # only the extension-inbound-plugin world has it
        from wit_world.exports import inbound  # noqa: F401
    except ImportError:
        pass


@dataclass
class Fakes:
    """The native stand-ins for the host's capabilities, reset by ``testing.reset()``."""

    #: Every ``log`` call as (level, message).
    logs: list[tuple[str, str]] = field(default_factory=list)
    #: The stores a test grants, by name: {store: {key: bytes}}.
    stores: dict[str, dict[str, bytes]] = field(default_factory=lambda: {"default": {}})
    #: The plugin's variables.
    variables: dict[str, str] = field(default_factory=dict)
    #: Answers outbound HTTP: called with the request, returns a ``Response``; None denies.
    http: Callable | None = None
    #: Every outbound request sent, in order.
    sent: list = field(default_factory=list)


fakes = Fakes()
