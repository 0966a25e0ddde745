"""Key-value state that outlives a call: counters, what a bot already did for a task, an
extension's account mapping. Backed by the host's store (a local file or Redis) through
``wasi:keyvalue``. The host grants each plugin the stores it may open
(``key_value_stores = ["default"]``) and keeps every plugin's keys apart.

Natively, tests get an in-memory "default" store (see ``pyrus_plugin.testing``).

>>> from pyrus_plugin.store import Store
>>> store = Store.open("default")
>>> store.increment("task:42")
1
>>> store.set_json("task:42:last", {"choice": "approved"})
>>> store.get_json("task:42:last")
{'choice': 'approved'}
"""

from __future__ import annotations

import json
from typing import Any

from ._host import IN_HOST, fakes
from .errors import PluginError


class StoreError(PluginError):
    """A store operation failed. It fails the call (so that Pyrus retries it) with 503
    ``store_unavailable`` when the host cannot reach its backend, 500 ``store_error``
    otherwise; ``kind`` is ``access_denied``, ``no_such_store``, ``other`` or ``json``."""

    def __init__(self, kind: str, message: str) -> None:
        unavailable = message.startswith("store unavailable")
        super().__init__("store_unavailable" if unavailable else "store_error", message,
                         503 if unavailable else 500)
        self.kind = kind

    @property
    def is_unavailable(self) -> bool:
        """Whether the backend could not be reached: trying again later may work."""
        return self.code == "store_unavailable"


def _host_error(err: Any) -> StoreError:
    value = getattr(err, "value", err)
    name = type(value).__name__
    if name.endswith("AccessDenied"):
        return StoreError("access_denied", "the host does not grant this store (key_value_stores)")
    if name.endswith("NoSuchStore"):
        return StoreError("no_such_store", "no such store")
    return StoreError("other", str(getattr(value, "value", value)))


class _FakeBucket:
    def __init__(self, data: dict[str, bytes]) -> None:
        self.data = data

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def set(self, key: str, value: bytes) -> None:
        self.data[key] = bytes(value)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.data

    def increment(self, key: str, delta: int) -> int:
        if delta < 0:
            raise StoreError("other", "a counter only grows (delta is unsigned)")
        current = self.data.get(key)
        number = int(current.decode()) if current else 0
        number += delta
        self.data[key] = str(number).encode()
        return number

    def keys(self) -> list[str]:
        return sorted(self.data)


class Store:
    """An open store (a ``wasi:keyvalue`` bucket) in this plugin's namespace."""

    def __init__(self, bucket: Any) -> None:
        self._bucket = bucket

    @classmethod
    def open(cls, name: str = "default") -> "Store":
        """Opens the store ``name`` (one of the plugin's ``key_value_stores``)."""
        if IN_HOST:
            from componentize_py_types import Err
            from wit_world.imports import wasi_keyvalue_store as kv

            try:
                return cls(kv.open(name))
            except Err as e:
                raise _host_error(e) from None
        if name not in fakes.stores:
            raise StoreError("access_denied", "the host does not grant this store (key_value_stores)")
        return cls(_FakeBucket(fakes.stores[name]))

    def _call(self, op: str, *args: Any) -> Any:
        if not IN_HOST:
            return getattr(self._bucket, op)(*args)
        from componentize_py_types import Err

        try:
            if op == "increment":
                from wit_world.imports import atomics

                return atomics.increment(self._bucket, *args)
            if op == "keys":
                keys: list[str] = []
                cursor = None
                while True:
                    page = self._bucket.list_keys(cursor)
                    keys.extend(page.keys)
                    cursor = page.cursor
                    if cursor is None:
                        return keys
            return getattr(self._bucket, op)(*args)
        except Err as e:
            raise _host_error(e) from None

    def get(self, key: str) -> bytes | None:
        """The value under ``key``, or None."""
        return self._call("get", key)

    def get_string(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else value.decode("utf-8", "replace")

    def get_json(self, key: str) -> Any:
        """The value under ``key`` parsed as JSON, or None when absent."""
        value = self.get(key)
        if value is None:
            return None
        try:
            return json.loads(value)
        except ValueError as e:
            raise StoreError("json", f"stored JSON: {e}") from None

    def set(self, key: str, value: bytes | str) -> None:
        """Stores ``value`` (bytes, or text stored as UTF-8) under ``key``."""
        self._call("set", key, value.encode() if isinstance(value, str) else bytes(value))

    def set_json(self, key: str, value: Any) -> None:
        self.set(key, json.dumps(value, separators=(",", ":")))

    def delete(self, key: str) -> None:
        self._call("delete", key)

    def exists(self, key: str) -> bool:
        return self._call("exists", key)

    def increment(self, key: str, delta: int = 1) -> int:
        """Adds ``delta`` (0 to 2**64-1) to the number under ``key`` atomically (0 when
        absent) and returns the new value."""
        if isinstance(delta, bool) or not isinstance(delta, int) or not 0 <= delta < 2**64:
            raise StoreError("other", "a counter only grows: delta is 0 to 2**64-1")
        return self._call("increment", key, delta)

    def keys(self) -> list[str]:
        """Every key of this store."""
        return self._call("keys")
