"""Copies the value of one form field into another and approves the step, like the
official CopyField example bot (and plugins/copy-field-bot in Rust).

Settings, as JSON in the bot's "Settings" box in Pyrus (``bot_settings``), or else in the
host config's ``settings``: ``{"SourceFieldCode": "u_Source", "TargetFieldCode": "u_Target"}``.

When it cannot copy (no settings, no such field, a value of a kind that cannot be copied)
it says why in a comment and does not approve, so that people on the task see the problem
instead of a silent retry loop.
"""

import json

from pyrus_plugin import BotReply, BotRequest, CallInfo, FieldUpdate, export_bot, log

SETTINGS_HELP = 'set the bot\'s Settings to {"SourceFieldCode": "...", "TargetFieldCode": "..."}'


class Problem(Exception):
    pass


def settings(req: BotRequest, call: CallInfo) -> tuple[str, str]:
    try:
        found = req.bot_settings_json()
    except ValueError as e:
        raise Problem(f"bot_settings is not valid: {e}; {SETTINGS_HELP}") from None
    where = "bot_settings"
    if found is None:
        text = (call.settings or "").strip()
        if not text:
            raise Problem(f"no settings: {SETTINGS_HELP}")
        try:
            found = json.loads(text)
        except ValueError as e:
            raise Problem(f"the host's settings are not valid: {e}; {SETTINGS_HELP}") from None
        where = "the host's settings"
    source = found.get("SourceFieldCode") if isinstance(found, dict) else None
    target = found.get("TargetFieldCode") if isinstance(found, dict) else None
    if not isinstance(source, str) or not isinstance(target, str):
        raise Problem(f"{where} are not valid: {SETTINGS_HELP}")
    return source, target


def complaint(problem: str) -> BotReply:
    log.warn(f"cannot copy: {problem}")
    return BotReply().text(f"CopyField bot cannot copy: {problem}.")


@export_bot
def handle(req: BotRequest, call: CallInfo) -> BotReply:
    try:
        source_code, target_code = settings(req, call)
    except Problem as p:
        return complaint(str(p))
    source = req.task.field_by_code(source_code) if req.task else None
    if source is None:
        return complaint(f"the task has no field with code {source_code}")
    try:
        value = source.to_update_value()
    except ValueError:
        return complaint(f"the value of {source_code} cannot be copied (field type {source.type})")
    bot = f" {req.user_id}" if req.user_id is not None else ""
    return (BotReply()
            .text(f"Field value was copied by bot{bot}.")
            .approve()
            .field_update(FieldUpdate.by_code(target_code, value)))
