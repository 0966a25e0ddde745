"""Write Pyrus bots and extensions in Python; pyrus-host runs them as sandboxed
WebAssembly components (built with componentize-py against the ``pyrus:plugin@0.2.0`` WIT).

The smallest bot, in a plugin's ``app.py``:

>>> from pyrus_plugin import BotReply, export_bot
>>> @export_bot
... def handle(req, call):
...     who = req.author.email if req.author else None
...     return BotReply().text(f"Hello, {who or 'there'}.").approve()

Capabilities, each granted by the host config: ``log``, ``store`` (key-value state),
``variables``, ``http`` (outbound HTTP) and ``pyrus`` (the Pyrus API clients).
``pyrus_plugin.testing`` runs a plugin natively under pytest.
"""

from . import http, log, pyrus, store, testing, variables
from ._export import export_bot, export_extension
from .errors import CallInfo, PluginError, not_supported
from .extension import (
    AuthorizeReply, AuthorizeRequest, Credential, Extension, ExtensionRequest, InboundRequest,
    InboundResponse, SendMessageReply, SendMessageRequest, ToggleRequest,
)
from .models import (
    AccessToken, Approval, Attachment, BotRequest, CatalogValue, Comment, Field, FormLink,
    MultipleChoice, Person, Step, TableRow, Task, Title, parse_id,
)
from .reply import BotReply, FieldUpdate, person_ref
from .store import Store, StoreError

__version__ = "0.2.0"

__all__ = [
    "AccessToken", "Approval", "Attachment", "AuthorizeReply", "AuthorizeRequest", "BotReply",
    "BotRequest", "CallInfo", "CatalogValue", "Comment", "Credential", "Extension",
    "ExtensionRequest", "Field", "FieldUpdate", "FormLink", "InboundRequest", "InboundResponse",
    "MultipleChoice", "Person", "PluginError", "SendMessageReply", "SendMessageRequest", "Step",
    "Store", "StoreError", "TableRow", "Task", "Title", "ToggleRequest", "export_bot",
    "export_extension", "http", "log", "not_supported", "parse_id", "person_ref", "pyrus",
    "store", "testing", "variables",
]
