"""The plugin's variables from the host config (``[bots.NAME.variables]``): logins, URLs,
and secrets such as a bot's security key (the host reads those from its environment or a
file and never logs them). Natively, tests set them with ``testing.set_variables``.

>>> from pyrus_plugin import variables, testing
>>> testing.set_variables({"login": "bot@example.com"})
>>> variables.get("login"), variables.get("missing")
('bot@example.com', None)
"""

from __future__ import annotations

from ._host import IN_HOST, fakes
from .errors import PluginError


def get(name: str) -> str | None:
    """The variable ``name``, if the config sets it."""
    if IN_HOST:
        from componentize_py_types import Err
        from wit_world.imports import wasi_config_store as config

        try:
            return config.get(name)
        except Err:
            return None
    return fakes.variables.get(name)


def require(name: str) -> str:
    """The variable ``name``, or a ``misconfigured`` error (500) naming it."""
    value = get(name)
    if value is None:
        raise PluginError("misconfigured",
                          f"the host config sets no variable {name!r} for this plugin", 500)
    return value


def all() -> list[tuple[str, str]]:
    """Every variable, sorted by name."""
    if IN_HOST:
        from componentize_py_types import Err
        from wit_world.imports import wasi_config_store as config

        try:
            return sorted(config.get_all())
        except Err:
            return []
    return sorted(fakes.variables.items())
