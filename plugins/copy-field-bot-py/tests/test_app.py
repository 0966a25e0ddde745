import json

import app  # noqa: F401  (registers the bot)
from pyrus_plugin import CallInfo, testing

SETTINGS = '{"SourceFieldCode":"u_Source","TargetFieldCode":"u_Target"}'


def run(body: dict, call: CallInfo | None = None) -> dict:
    testing.reset()
    return json.loads(testing.handle_json(json.dumps(body), call or CallInfo("copy")))


def test_copies_a_nested_value_and_approves():
    body = {"user_id": 77, "bot_settings": SETTINGS, "task": {"id": 1, "fields": [
        {"id": 1, "type": "title", "value": {"fields": [
            {"id": 2, "type": "money", "code": "u_Source", "value": 1365.27}]}},
        {"id": 3, "type": "money", "code": "u_Target"}]}}
    r = run(body)
    assert r["approval_choice"] == "approved"
    assert r["text"] == "Field value was copied by bot 77."
    assert r["field_updates"] == [{"code": "u_Target", "value": 1365.27}]


def test_host_settings_are_the_fallback():
    body = {"task": {"fields": [{"id": 2, "type": "text", "code": "u_Source", "value": "x"}]}}
    r = run(body, CallInfo("copy", settings=SETTINGS))
    assert r["field_updates"][0]["value"] == "x"


def test_explains_what_is_missing_without_approving():
    r = run({"bot_settings": SETTINGS})
    assert "no field with code u_Source" in r["text"]
    assert "approval_choice" not in r
    assert testing.logs()[0][0] == "warn"
    assert "bot_settings is not valid" in run({"bot_settings": "{oops"})["text"]
    assert "no settings" in run({})["text"]


def test_a_value_that_cannot_be_copied_is_explained():
    body = {"bot_settings": SETTINGS, "task": {"fields": [
        {"id": 2, "type": "table", "code": "u_Source", "value": []}]}}
    assert "cannot be copied (field type table)" in run(body)["text"]
