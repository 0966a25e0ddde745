"""The bot's answer: a comment Pyrus posts on the task, built with chained calls."""

from __future__ import annotations

import json
from typing import Any

from .models import Person, parse_id

PersonRef = dict
"""How a reply names a person: ``{"id": 7}`` or ``{"email": "a@b.c"}``."""


def person_ref(person: "Person | int | str | dict") -> dict:
    """A person reference from a ``Person``, an id, an email or a ready reference.

    >>> person_ref(7), person_ref("a@b.c")
    ({'id': 7}, {'email': 'a@b.c'})
    """
    if isinstance(person, Person):
        ref = person.to_ref()
        if ref is None:
            raise ValueError("the person has neither id nor email")
        return ref
    if isinstance(person, dict):
        return person
    if isinstance(person, (int, str)) and not isinstance(person, bool):
        id = parse_id(person)
        if id is not None:
            return {"id": id}
        if isinstance(person, str):
            return {"email": person}
    raise TypeError(f"not a person: {person!r}")


def to_json(value: Any) -> str:
    r"""Compact JSON for the host: no NaN or Infinity (not JSON: a ValueError), and text that
    cannot be UTF-8 (lone surrogates) escaped rather than failing at the boundary.

    >>> to_json({"a": "ü"}), to_json({"a": chr(0xD800)})
    ('{"a":"ü"}', '{"a":"\\ud800"}')
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text


class FieldUpdate(dict):
    """One entry of a reply's ``field_updates``: which field, and its new value.

    >>> FieldUpdate.by_code("u_Amount", 1365.27)
    {'code': 'u_Amount', 'value': 1365.27}
    >>> FieldUpdate.by_id(7, "OK")
    {'id': 7, 'value': 'OK'}
    """

    @classmethod
    def by_id(cls, id: int, value: Any) -> "FieldUpdate":
        return cls(id=id, value=value)

    @classmethod
    def by_code(cls, code: str, value: Any) -> "FieldUpdate":
        return cls(code=code, value=value)

    @classmethod
    def by_name(cls, name: str, value: Any) -> "FieldUpdate":
        return cls(name=name, value=value)


class BotReply:
    """A comment the bot posts in reply (the schema of ``POST /tasks/{id}/comments``).
    Unset parts are left out of the JSON.

    >>> reply = (BotReply().text("Checked by bot").approve()
    ...          .field_update(FieldUpdate.by_id(7, "OK"))
    ...          .field_update(FieldUpdate.by_code("u_Amount", 1365.27)))
    >>> reply.to_json()
    '{"text":"Checked by bot","approval_choice":"approved","field_updates":[{"id":7,"value":"OK"},{"code":"u_Amount","value":1365.27}]}'
    """

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def _set(self, key: str, value: Any) -> "BotReply":
        self._data[key] = value
        return self

    def _push(self, key: str, value: Any) -> "BotReply":
        self._data.setdefault(key, []).append(value)
        return self

    def text(self, text: str) -> "BotReply":
        """The comment's plain text."""
        return self._set("text", text)

    def formatted_text(self, html: str) -> "BotReply":
        """The comment's text as HTML."""
        return self._set("formatted_text", html)

    def subject(self, subject: str) -> "BotReply":
        """A new subject for the task."""
        return self._set("subject", subject)

    def approve(self) -> "BotReply":
        """Approve the bot's step."""
        return self._set("approval_choice", "approved")

    def reject(self) -> "BotReply":
        """Reject the bot's step."""
        return self._set("approval_choice", "rejected")

    def acknowledge(self) -> "BotReply":
        """Acknowledge (for steps that ask for acknowledgement)."""
        return self._set("approval_choice", "acknowledged")

    def approval_choice(self, choice: str) -> "BotReply":
        """Any decision by its wire name (``approved``, ``rejected``, ``revoked``, ...)."""
        return self._set("approval_choice", choice)

    def approval_steps(self, steps: list[int]) -> "BotReply":
        """The steps the decision applies to."""
        return self._set("approval_steps", list(steps))

    def reassign_to(self, person: "Person | int | str | dict") -> "BotReply":
        """Reassign the task (by ``Person``, id or email)."""
        return self._set("reassign_to", person_ref(person))

    def field_update(self, update: dict) -> "BotReply":
        """Change a form field (see ``FieldUpdate``)."""
        return self._push("field_updates", dict(update))

    def finish(self) -> "BotReply":
        """Close the task."""
        return self._set("action", "finished")

    def reopen(self) -> "BotReply":
        """Reopen the task."""
        return self._set("action", "reopened")

    def attach(self, guid: str) -> "BotReply":
        """Attach a file uploaded with ``POST /files/upload``."""
        return self._push("attachments", guid)

    def add_approver(self, step: int, person: "Person | int | str | dict") -> "BotReply":
        """Add an approver to a workflow step (1-based)."""
        if step < 1:
            raise ValueError("steps are numbered from 1")
        lists = self._data.setdefault("approvals_added", [])
        while len(lists) < step:
            lists.append([])
        lists[step - 1].append(person_ref(person))
        return self

    def add_subscriber(self, person: "Person | int | str | dict") -> "BotReply":
        return self._push("subscribers_added", person_ref(person))

    def add_participant(self, person: "Person | int | str | dict") -> "BotReply":
        return self._push("participants_added", person_ref(person))

    def due_date(self, date: str) -> "BotReply":
        """A due date, ``YYYY-MM-DD``."""
        return self._set("due_date", date)

    def due(self, datetime: str, duration_minutes: int | None = None) -> "BotReply":
        """A due date and time (UTC, ISO 8601), optionally with a duration."""
        self._set("due", datetime)
        return self._set("duration", duration_minutes) if duration_minutes is not None else self

    def spent_minutes(self, minutes: int) -> "BotReply":
        return self._set("spent_minutes", minutes)

    def channel(self, kind: str, to: Any = None, sender: Any = None) -> "BotReply":
        """Send the comment to an external channel (``telegram``, ``email``, ...)."""
        channel: dict[str, Any] = {"type": kind}
        if to is not None:
            channel["to"] = to
        if sender is not None:
            channel["from"] = sender
        return self._set("channel", channel)

    def set(self, key: str, value: Any) -> "BotReply":
        """Any other key of the comment schema, verbatim."""
        return self._set(key, value)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def to_json(self) -> str:
        """The JSON text the host sends back to Pyrus."""
        return to_json(self._data)

    def __repr__(self) -> str:
        return f"BotReply({self._data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BotReply) and other._data == self._data
