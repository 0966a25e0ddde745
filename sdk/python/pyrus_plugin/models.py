"""Typed, tolerant models of what Pyrus sends a bot: the request, the task, its fields.

Parsing never fails on the shape of a task: unknown keys are ignored, a part of the wrong
shape reads as empty (or, for a field value, is kept verbatim in ``Field.value``), and ids
arrive as numbers or numeric strings. Pyrus adds fields over time; a bot built today keeps
working when it does.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field as _field
from typing import Any, Iterator

Id = int
"""Pyrus ids are integers; numeric strings are read as integers too."""

# Field types whose value is an object or a list.
_COMPOSITE = {
    "catalog", "file", "person", "author", "table", "multiple_choice", "title",
    "form_link", "project",
}
_TEXT = {"text", "email", "phone", "note", "status", "date", "due_date", "creation_date",
         "due_date_time", "time", "flag"}


_ID_TEXT = re.compile(r"-?[0-9]{1,19}")
_I64 = range(-(2**63), 2**63)
# A number written as text: ASCII digits, an optional sign, decimal point or comma, exponent.
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_id(value: Any) -> Id | None:
    """An id (a 64-bit integer) from a number or a numeric string; None for anything else.

    >>> parse_id(5), parse_id("12"), parse_id(" 7 "), parse_id("x"), parse_id(True)
    (5, 12, 7, None, None)
    >>> parse_id("²"), parse_id("--5"), parse_id("9" * 30), parse_id(2.5)
    (None, None, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value if value in _I64 else None
    if isinstance(value, str):
        text = value.strip()
        if _ID_TEXT.fullmatch(text) and int(text) in _I64:
            return int(text)
    return None


def parse_number(value: Any) -> int | float | None:
    """A finite number from a JSON number or a text such as ``"12,5"``; None otherwise.

    >>> parse_number("12,5"), parse_number(3), parse_number("1e400"), parse_number("nan")
    (12.5, 3, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_TEXT.fullmatch(text):
            n = float(text.replace(",", "."))
            return n if math.isfinite(n) else None
    return None


def _ids(value: Any) -> list[Id]:
    return [i for i in (parse_id(v) for v in _list(value)) if i is not None]


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _checkmark(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"checked": True, "true": True, "unchecked": False, "false": False}.get(value)
    return None


@dataclass
class Person:
    """A Pyrus user, bot or role.

    >>> p = Person.from_json({"id": "2", "first_name": " Bob ", "last_name": "", "email": ""})
    >>> (p.id, p.full_name, p.email)
    (2, 'Bob', None)
    """

    id: Id | None = None
    first_name: str = ""
    last_name: str = ""
    email_raw: str = ""
    type: str | None = None
    department_id: Id | None = None
    department_name: str | None = None
    position: str | None = None
    phone: str | None = None
    external_id: str | None = None
    banned: bool | None = None
    fired: bool | None = None

    @classmethod
    def from_json(cls, data: Any) -> "Person":
        d = _dict(data)
        return cls(
            id=parse_id(d.get("id")),
            first_name=_str(d.get("first_name")) or "",
            last_name=_str(d.get("last_name")) or "",
            email_raw=_str(d.get("email")) or "",
            type=_str(d.get("type")),
            department_id=parse_id(d.get("department_id")),
            department_name=_str(d.get("department_name")),
            position=_str(d.get("position")),
            phone=_str(d.get("phone")),
            external_id=_str(d.get("external_id")),
            banned=_bool(d.get("banned")),
            fired=_bool(d.get("fired")),
        )

    @property
    def email(self) -> str | None:
        """The email, or None when Pyrus sent none or an empty one."""
        return self.email_raw.strip() or None

    @property
    def full_name(self) -> str:
        """First and last name, trimmed; empty when both are."""
        return f"{self.first_name.strip()} {self.last_name.strip()}".strip()

    def to_ref(self) -> dict | None:
        """How a reply names this person: ``{"id": ...}``, else ``{"email": ...}``."""
        if self.id is not None:
            return {"id": self.id}
        return {"email": self.email} if self.email else None


def _person(value: Any) -> Person | None:
    return Person.from_json(value) if isinstance(value, dict) else None


@dataclass
class Attachment:
    """A file attached to a task, a comment or a file field."""

    id: Id | None = None
    name: str | None = None
    size: int | None = None
    md5: str | None = None
    url: str | None = None
    version: int | None = None
    root_id: Id | None = None

    @classmethod
    def from_json(cls, data: Any) -> "Attachment":
        d = _dict(data)
        return cls(parse_id(d.get("id")), _str(d.get("name")), _int(d.get("size")),
                   _str(d.get("md5")), _str(d.get("url")), _int(d.get("version")),
                   parse_id(d.get("root_id")))


@dataclass
class CatalogValue:
    """A catalog field's selected item(s)."""

    item_id: Id | None = None
    item_ids: list[Id] = _field(default_factory=list)
    headers: list[str] = _field(default_factory=list)
    values: list[str] = _field(default_factory=list)
    rows: list[list[str]] = _field(default_factory=list)

    def value_of(self, header: str) -> str | None:
        """The value under a column header, for the (first) selected item.

        >>> CatalogValue(headers=["Code", "Name"], values=["7", "Seven"]).value_of("Name")
        'Seven'
        """
        try:
            return self.values[self.headers.index(header)]
        except (ValueError, IndexError):
            return None


@dataclass
class TableRow:
    """One row of a table field."""

    row_id: int | None = None
    cells: list["Field"] = _field(default_factory=list)
    position: int | None = None
    delete: bool = False


@dataclass
class MultipleChoice:
    """A multiple-choice selection; a choice may reveal nested fields."""

    choice_id: int | None = None
    choice_ids: list[int] = _field(default_factory=list)
    choice_names: list[str] = _field(default_factory=list)
    fields: list["Field"] = _field(default_factory=list)


@dataclass
class Title:
    """A title (section) field: an optional checkmark and the fields it holds."""

    checkmark: bool | None = None
    fields: list["Field"] = _field(default_factory=list)


@dataclass
class FormLink:
    """A link to other tasks."""

    task_id: Id | None = None
    task_ids: list[Id] = _field(default_factory=list)
    subject: str | None = None


def _fields(value: Any) -> list["Field"]:
    return [Field.from_json(f) for f in _list(value) if isinstance(f, dict)]


@dataclass
class Field:
    """A form field with its value, typed by its ``type``.

    ``value`` is the raw JSON value; the properties read it as the type says
    (``text``, ``number``, ``checked``, ``catalog``, ``person``, ``files``, ``table``,
    ``choice``, ``title``, ``form_link``) and answer None when it has another shape.

    >>> f = Field.from_json({"id": 1, "type": "money", "code": "u_Sum", "value": "12,5"})
    >>> (f.number, f.text, f.to_update_value())
    (12.5, None, 12.5)
    """

    id: Id | None = None
    name: str | None = None
    code: str | None = None
    type: str = ""
    value: Any = None
    duration: int | None = None
    parent_id: Id | None = None
    row_id: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> "Field":
        d = _dict(data)
        return cls(
            id=parse_id(d.get("id")),
            name=_str(d.get("name")),
            code=_str(d.get("code")),
            type=_str(d.get("type")) or "",
            value=d.get("value"),
            duration=_int(d.get("duration")),
            parent_id=parse_id(d.get("parent_id")),
            row_id=_int(d.get("row_id")),
        )

    @property
    def is_empty(self) -> bool:
        return self.value is None

    @property
    def text(self) -> str | None:
        """The value of a text-like field (text, email, phone, dates, time, flag, ...)."""
        return self.value if self.type in _TEXT and isinstance(self.value, str) else None

    @property
    def number(self) -> float | int | None:
        """The value of a money, number or step field (text with a decimal comma too)."""
        if self.type not in ("money", "number", "step"):
            return None
        if self.type == "step" and isinstance(self.value, str):
            return None
        return parse_number(self.value)

    @property
    def checked(self) -> bool | None:
        """The value of a checkmark field."""
        return _checkmark(self.value) if self.type == "checkmark" else None

    @property
    def catalog(self) -> CatalogValue | None:
        if self.type != "catalog" or not isinstance(self.value, dict):
            return None
        d = self.value
        return CatalogValue(parse_id(d.get("item_id")), _ids(d.get("item_ids")),
                            [h for h in _list(d.get("headers")) if isinstance(h, str)],
                            [v for v in _list(d.get("values")) if isinstance(v, str)],
                            [r for r in _list(d.get("rows")) if isinstance(r, list)])

    @property
    def person(self) -> Person | None:
        return _person(self.value) if self.type in ("person", "author") else None

    @property
    def files(self) -> list[Attachment] | None:
        if self.type != "file" or not isinstance(self.value, list):
            return None
        return [Attachment.from_json(f) for f in self.value if isinstance(f, dict)]

    @property
    def table(self) -> list[TableRow] | None:
        if self.type != "table" or not isinstance(self.value, list):
            return None
        return [TableRow(_int(r.get("row_id")), _fields(r.get("cells")), _int(r.get("position")),
                         r.get("delete") is True)
                for r in self.value if isinstance(r, dict)]

    @property
    def choice(self) -> MultipleChoice | None:
        if self.type != "multiple_choice" or not isinstance(self.value, dict):
            return None
        d = self.value
        return MultipleChoice(_int(d.get("choice_id")),
                              [i for i in map(_int, _list(d.get("choice_ids"))) if i is not None],
                              [n for n in _list(d.get("choice_names")) if isinstance(n, str)],
                              _fields(d.get("fields")))

    @property
    def title(self) -> Title | None:
        if self.type != "title" or not isinstance(self.value, dict):
            return None
        return Title(_checkmark(self.value.get("checkmark")), _fields(self.value.get("fields")))

    @property
    def form_link(self) -> FormLink | None:
        if self.type != "form_link" or not isinstance(self.value, dict):
            return None
        d = self.value
        return FormLink(parse_id(d.get("task_id")), _ids(d.get("task_ids")), _str(d.get("subject")))

    def children(self) -> list["Field"]:
        """The fields nested in this one: a title's fields, a table's cells, a choice's fields."""
        if self.type == "title" and (t := self.title):
            return t.fields
        if self.type == "multiple_choice" and (c := self.choice):
            return c.fields
        if self.type == "table" and (rows := self.table) is not None:
            return [cell for row in rows for cell in row.cells]
        return []

    def to_update_value(self) -> Any:
        """The value in the form ``field_updates`` takes to write it into another field of a
        compatible type. Raises ``ValueError`` for values that cannot be written (title,
        table, step, project, a catalog without an item).

        >>> Field.from_json({"type": "checkmark", "value": True}).to_update_value()
        'checked'
        """
        v, kind = self.value, self.type
        if v is None:
            return None
        if kind in ("title", "table", "step", "project"):
            raise ValueError(f"a {kind} value cannot be written into a field")
        if kind in ("money", "number"):
            n = self.number
            if n is None:
                raise ValueError(f"the {kind} value is not a number")
            if isinstance(n, float) and n.is_integer() and abs(n) < 9e15:
                return int(n)
            return n
        if kind == "checkmark":
            c = self.checked
            return v if c is None else ("checked" if c else "unchecked")
        if kind == "catalog" and (cat := self.catalog):
            if len(cat.item_ids) > 1:
                return {"item_ids": cat.item_ids}
            item = cat.item_id if cat.item_id is not None else (cat.item_ids or [None])[0]
            if item is None:
                raise ValueError("the catalog value has no item")
            return {"item_id": item}
        if kind == "file" and (files := self.files) is not None:
            return [{"attachment_id": f.id} for f in files if f.id is not None]
        if kind in ("person", "author") and (p := self.person):
            ref = p.to_ref()
            if ref is None:
                raise ValueError("the person has neither id nor email")
            return ref
        if kind == "multiple_choice" and (c := self.choice):
            return {"choice_ids": c.choice_ids}
        if kind == "form_link" and (link := self.form_link):
            if link.task_ids:
                return {"task_ids": link.task_ids}
            if link.task_id is None:
                raise ValueError("the link has no task")
            return {"task_id": link.task_id}
        return v


@dataclass
class Approval:
    """An approver on a workflow step and their decision."""

    person: Person | None = None
    approval_choice: str | None = None
    step: int | None = None


def _approvals(value: Any) -> list[list[Approval]]:
    return [[Approval(_person(a.get("person")), _str(a.get("approval_choice")), _int(a.get("step")))
             for a in _list(step) if isinstance(a, dict)] for step in _list(value)]


@dataclass
class Step:
    """A workflow step."""

    step: int | None = None
    name: str | None = None


@dataclass
class Comment:
    """A comment on a task. Most comments Pyrus sends have no text (field changes,
    approvals, reassignments)."""

    id: Id | None = None
    text_raw: str | None = None
    formatted_text: str | None = None
    create_date: str | None = None
    author: Person | None = None
    reassigned_to: Person | None = None
    field_updates: list[Field] = _field(default_factory=list)
    approval_choice: str | None = None
    approval_step: int | None = None
    changed_step: int | None = None
    action: str | None = None
    attachments: list[Attachment] = _field(default_factory=list)
    channel: dict | None = None
    raw: dict = _field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> "Comment":
        d = _dict(data)
        return cls(
            id=parse_id(d.get("id")),
            text_raw=_str(d.get("text")),
            formatted_text=_str(d.get("formatted_text")),
            create_date=_str(d.get("create_date")),
            author=_person(d.get("author")),
            reassigned_to=_person(d.get("reassigned_to")),
            field_updates=_fields(d.get("field_updates")),
            approval_choice=_str(d.get("approval_choice")),
            approval_step=_int(d.get("approval_step")),
            changed_step=_int(d.get("changed_step")),
            action=_str(d.get("action")),
            attachments=[Attachment.from_json(a) for a in _list(d.get("attachments"))],
            channel=d.get("channel") if isinstance(d.get("channel"), dict) else None,
            raw=d,
        )

    @property
    def text(self) -> str | None:
        """The comment's text, or None when it has none (or only whitespace)."""
        return self.text_raw if self.text_raw and self.text_raw.strip() else None


@dataclass
class Task:
    """A Pyrus task (the ``task`` object of ``GET /tasks/{id}``, with comments).

    >>> t = Task.from_json({"fields": [{"id": 1, "type": "title", "value": {"fields": [
    ...     {"id": 2, "type": "text", "code": "u_Inner", "value": "found"}]}}],
    ...     "comments": [{"id": 1, "text": "hi"}, {"id": 2}]})
    >>> t.field_by_code("u_Inner").text, t.last_text_comment().text, t.last_comment().id
    ('found', 'hi', 2)
    """

    id: Id | None = None
    text: str | None = None
    subject: str | None = None
    create_date: str | None = None
    last_modified_date: str | None = None
    close_date: str | None = None
    is_closed: bool | None = None
    author: Person | None = None
    responsible: Person | None = None
    participants: list[Person] = _field(default_factory=list)
    due_date: str | None = None
    due: str | None = None
    form_id: Id | None = None
    fields: list[Field] = _field(default_factory=list)
    attachments: list[Attachment] = _field(default_factory=list)
    approvals: list[list[Approval]] = _field(default_factory=list)
    current_step: int | None = None
    steps: list[Step] = _field(default_factory=list)
    list_ids: list[Id] = _field(default_factory=list)
    parent_task_id: Id | None = None
    comments: list[Comment] = _field(default_factory=list)
    raw: dict = _field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Any) -> "Task":
        d = _dict(data)
        return cls(
            id=parse_id(d.get("id")),
            text=_str(d.get("text")),
            subject=_str(d.get("subject")),
            create_date=_str(d.get("create_date")),
            last_modified_date=_str(d.get("last_modified_date")),
            close_date=_str(d.get("close_date")),
            is_closed=_bool(d.get("is_closed")),
            author=_person(d.get("author")),
            responsible=_person(d.get("responsible")),
            participants=[Person.from_json(p) for p in _list(d.get("participants"))],
            due_date=_str(d.get("due_date")),
            due=_str(d.get("due")),
            form_id=parse_id(d.get("form_id")),
            fields=_fields(d.get("fields")),
            attachments=[Attachment.from_json(a) for a in _list(d.get("attachments"))],
            approvals=_approvals(d.get("approvals")),
            current_step=_int(d.get("current_step")),
            steps=[Step(_int(s.get("step")), _str(s.get("name")))
                   for s in _list(d.get("steps")) if isinstance(s, dict)],
            list_ids=_ids(d.get("list_ids")),
            parent_task_id=parse_id(d.get("parent_task_id")),
            comments=[Comment.from_json(c) for c in _list(d.get("comments"))],
            raw=d,
        )

    def all_fields(self) -> Iterator[Field]:
        """Every field, depth first, including those in titles, tables and choices."""
        stack = list(reversed(self.fields))
        while stack:
            f = stack.pop()
            yield f
            stack.extend(reversed(f.children()))

    def field_by_code(self, code: str) -> Field | None:
        """The first field with this code (``u_Amount``), searching nested fields too."""
        return next((f for f in self.all_fields() if f.code == code), None)

    def field_by_name(self, name: str) -> Field | None:
        """The first field with this name, searching nested fields too."""
        return next((f for f in self.all_fields() if f.name == name), None)

    def field_by_id(self, id: Id | str) -> Field | None:
        """The field with this id, searching nested fields too."""
        want = parse_id(id)
        return next((f for f in self.all_fields() if f.id == want), None)

    def last_comment(self) -> Comment | None:
        """The newest comment (the one that triggered the call, in practice)."""
        return self.comments[-1] if self.comments else None

    def last_text_comment(self) -> Comment | None:
        """The newest comment that has text."""
        return next((c for c in reversed(self.comments) if c.text), None)

    def current_step_info(self) -> Step | None:
        """The step the task is on, with its name, when the task has a workflow."""
        if self.current_step is None:
            return None
        return next((s for s in self.steps if s.step == self.current_step), None)

    def current_approvals(self) -> list[Approval]:
        """The approvers of the current step."""
        i = (self.current_step or 0) - 1
        return self.approvals[i] if 0 <= i < len(self.approvals) else []


class AccessToken(str):
    """The call's API token. Its ``repr`` hides it, so it never lands in a log by accident."""

    def __repr__(self) -> str:
        return "AccessToken(***)"


@dataclass
class BotRequest:
    """The body Pyrus POSTs to a bot, parsed.

    >>> r = BotRequest.parse('{"event": "comment", "task_id": "5", "user_id": 9,'
    ...     ' "access_token": "t0k", "task": {"author": {"id": 2, "email": "a@b.c"}}}')
    >>> (r.task_id, r.user_id, r.author.email, repr(r.access_token))
    (5, 9, 'a@b.c', 'AccessToken(***)')
    """

    event: str = ""
    task_id: Id | None = None
    user_id: Id | None = None
    access_token: AccessToken | None = None
    bot_settings: str | None = None
    api_url: str | None = None
    task: Task | None = None
    raw: dict = _field(default_factory=dict, repr=False)

    @classmethod
    def parse(cls, body: str | bytes) -> "BotRequest":
        """Parses a body. Raises ``PluginError`` (400) when it is not a JSON object."""
        from .errors import PluginError

        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as e:
            raise PluginError.bad_request(f"the body is not JSON: {type(e).__name__}") from None
        if not isinstance(data, dict):
            raise PluginError.bad_request("the body is not a JSON object")
        return cls.from_json(data)

    @classmethod
    def from_json(cls, d: dict) -> "BotRequest":
        token = _str(d.get("access_token"))
        settings = d.get("bot_settings")
        task = Task.from_json(d["task"]) if isinstance(d.get("task"), dict) else None
        task_id = parse_id(d.get("task_id"))
        return cls(
            event=_str(d.get("event")) or "",
            # Like the Rust SDK: the task's own id when the body has no task_id.
            task_id=task_id if task_id is not None else (task.id if task else None),
            user_id=parse_id(d.get("user_id")),
            access_token=AccessToken(token) if token else None,
            bot_settings=settings if isinstance(settings, str) else (
                json.dumps(settings) if isinstance(settings, (dict, list)) else None),
            api_url=_str(d.get("api_url")),
            task=task,
            raw=d,
        )

    @property
    def author(self) -> Person | None:
        """The task's author."""
        return self.task.author if self.task else None

    def bot_settings_json(self) -> Any:
        """``bot_settings`` (the bot's Settings box in Pyrus) parsed as JSON; None when empty.
        Raises ``ValueError`` when it is not valid JSON."""
        text = (self.bot_settings or "").strip()
        return json.loads(text) if text else None
