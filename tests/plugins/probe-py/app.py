"""Exercises the Python SDK's host paths and the sandbox from inside a real component.

``settings`` picks the probe:
- ``sandbox``: tries to read a file, the environment, the working folder and a socket;
  answers what happened to each.
- ``state``: counts calls in the "default" store and round-trips JSON.
- ``variables``: reads a variable, then requires a missing one.
- ``http``: GETs the ``url`` variable and answers its status and body.
- ``raise``: raises an unexpected exception; ``error``: raises a PluginError with status 409.
- ``log``: logs a message with a newline in it.
"""

import json
import os

from pyrus_plugin import BotReply, PluginError, export_bot, http, log, variables
from pyrus_plugin.store import Store


def attempt(work):
    try:
        return {"ok": repr(work())[:200]}
    except BaseException as e:  # noqa: BLE001 - the probe reports every outcome
        return {"error": type(e).__name__}


def sandbox(req):
    port = req.raw.get("port", 9)

    def connect():
        import socket

        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(("127.0.0.1", port))
        return "connected"

    return {
        "file": attempt(lambda: open("/etc/passwd").read()),
        "listdir": attempt(lambda: os.listdir("/")),
        "env": attempt(lambda: dict(os.environ)),
        "home": attempt(lambda: os.environ["HOME"]),
        "socket": attempt(connect),
    }


def state(_req):
    store = Store.open("default")
    count = store.increment("calls")
    store.set_json("last", {"count": count, "note": "ünï"})
    return {"count": count, "last": store.get_json("last"), "keys": store.keys(),
            "other": attempt(lambda: Store.open("not-granted"))}


def vars_probe(_req):
    return {"greeting": variables.get("greeting"), "all": [k for k, _ in variables.all()],
            "missing": attempt(lambda: variables.require("missing"))}


def http_probe(_req):
    url = variables.require("url")
    response = http.send(http.Request.post(url).header("X-Probe", "1").json({"from": "python"}))
    denied = attempt(lambda: http.send(http.Request.get("http://198.51.100.1/")))
    return {"status": response.status, "body": response.text(), "denied": denied,
            "type": response.header("content-type")}


@export_bot
def handle(req, call):
    probe = call.settings or ""
    if probe == "raise":
        raise ValueError("an unexpected failure")
    if probe == "error":
        raise PluginError("custom_code", "a custom message", 409)
    if probe == "log":
        log.info("first line\nINFO forged line")
        return None
    probes = {"sandbox": sandbox, "state": state, "variables": vars_probe, "http": http_probe}
    if probe not in probes:
        raise PluginError("bad_probe", f"unknown probe {probe!r}", 400)
    return BotReply().text(json.dumps(probes[probe](req), sort_keys=True))
