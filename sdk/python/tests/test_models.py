import json

import pytest

from pyrus_plugin import BotRequest, Field, PluginError, Task

EVERY_TYPE = [
    ({"type": "text", "value": "a"}, "text", "a"),
    ({"type": "money", "value": 1365.27}, "number", 1365.27),
    ({"type": "number", "value": "3,5"}, "number", 3.5),
    ({"type": "date", "value": "2026-12-01"}, "text", "2026-12-01"),
    ({"type": "time", "value": "10:30"}, "text", "10:30"),
    ({"type": "due_date_time", "value": "2026-12-01T10:00:00Z"}, "text", "2026-12-01T10:00:00Z"),
    ({"type": "checkmark", "value": "checked"}, "checked", True),
    ({"type": "checkmark", "value": False}, "checked", False),
    ({"type": "flag", "value": "red"}, "text", "red"),
    ({"type": "step", "value": 2}, "number", 2),
    ({"type": "email", "value": "a@b.c"}, "text", "a@b.c"),
    ({"type": "phone", "value": "+1"}, "text", "+1"),
]


@pytest.mark.parametrize("raw,prop,expected", EVERY_TYPE)
def test_every_simple_type_is_read(raw, prop, expected):
    assert getattr(Field.from_json(raw), prop) == expected


def test_composite_types_are_read():
    cat = Field.from_json({"type": "catalog", "value": {"item_id": "17", "headers": ["Code", "Name"],
                                                        "values": ["7", "Seven"]}})
    assert cat.catalog.item_id == 17 and cat.catalog.value_of("Name") == "Seven"
    assert cat.to_update_value() == {"item_id": 17}
    person = Field.from_json({"type": "person", "value": {"id": 3, "first_name": "Ann"}})
    assert person.person.full_name == "Ann" and person.to_update_value() == {"id": 3}
    files = Field.from_json({"type": "file", "value": [{"id": 9, "name": "a.pdf"}, {"name": "x"}]})
    assert [f.name for f in files.files] == ["a.pdf", "x"]
    assert files.to_update_value() == [{"attachment_id": 9}]
    choice = Field.from_json({"type": "multiple_choice", "value": {"choice_ids": [1, 2],
                              "fields": [{"id": 5, "type": "text", "code": "u_In", "value": "v"}]}})
    assert choice.choice.choice_ids == [1, 2] and choice.children()[0].text == "v"
    table = Field.from_json({"type": "table", "value": [
        {"row_id": 0, "cells": [{"id": 6, "type": "number", "value": 1}]},
        {"row_id": 1, "cells": [{"id": 6, "type": "number", "value": 2}]}]})
    assert [c.number for c in table.children()] == [1, 2]
    with pytest.raises(ValueError):
        table.to_update_value()
    link = Field.from_json({"type": "form_link", "value": {"task_ids": ["4", 5]}})
    assert link.to_update_value() == {"task_ids": [4, 5]}


def test_wrong_shapes_read_as_none_and_keep_the_raw_value():
    f = Field.from_json({"type": "money", "value": {"odd": 1}})
    assert f.number is None and f.value == {"odd": 1}
    assert Field.from_json({"type": "catalog", "value": "x"}).catalog is None
    assert Field.from_json({"type": "brand_new_type", "value": [1]}).to_update_value() == [1]


def test_tasks_tolerate_garbage():
    t = Task.from_json({"id": "1", "author": {"id": 2, "email": "a@b.c"}, "fields": "not a list",
                        "comments": None, "steps": [{"step": 1, "name": "Start"}, 7],
                        "current_step": 1, "approvals": [[{"person": {"id": 4}, "approval_choice": "waiting"}]]})
    assert t.id == 1 and t.fields == [] and t.comments == []
    assert t.current_step_info().name == "Start"
    assert t.current_approvals()[0].person.id == 4
    assert t.author.email == "a@b.c"


def test_fields_are_found_through_titles_tables_and_choices():
    t = Task.from_json({"fields": [
        {"id": 1, "type": "title", "value": {"fields": [
            {"id": 2, "name": "Sum", "type": "money", "code": "u_Sum", "value": 10}]}},
        {"id": 3, "type": "table", "value": [{"row_id": 0, "cells": [
            {"id": 4, "type": "text", "code": "u_Cell", "value": "c"}]}]}]})
    assert t.field_by_code("u_Sum").number == 10
    assert t.field_by_name("Sum").id == 2
    assert t.field_by_id("4").text == "c"
    assert [f.id for f in t.all_fields()] == [1, 2, 3, 4]


def test_comments_last_and_last_with_text():
    t = Task.from_json({"comments": [{"id": 1, "text": "first"}, {"id": 2, "text": "  "}, {"id": 3}]})
    assert t.last_comment().id == 3 and t.last_text_comment().id == 1


def test_requests_parse_ids_and_hide_the_token():
    r = BotRequest.parse(json.dumps({"event": "comment", "task_id": "12", "user_id": 3,
                                     "access_token": "secret-token", "api_url": "https://api.pyrus.com/v4/",
                                     "bot_settings": {"a": 1}, "unknown": [1, 2]}))
    assert (r.task_id, r.user_id) == (12, 3)
    assert "secret-token" not in repr(r) and r.access_token == "secret-token"
    assert r.bot_settings_json() == {"a": 1}


@pytest.mark.parametrize("body", ["[1]", "nope", "", "3"])
def test_a_body_that_is_not_an_object_is_a_400(body):
    with pytest.raises(PluginError) as e:
        BotRequest.parse(body)
    assert e.value.status == 400


@pytest.mark.parametrize("raw", ["²", "--5", "9" * 30, "1_000", " ", True, 2.5, float("nan")])
def test_odd_ids_read_as_none(raw):
    assert BotRequest.from_json({"task_id": raw}).task_id is None


def test_odd_numbers_are_not_numbers():
    for raw in ["1e400", "nan", "inf", "1_000", "١٢"]:
        f = Field.from_json({"type": "money", "value": raw})
        assert f.number is None, raw
        with pytest.raises(ValueError):
            f.to_update_value()
    assert Field.from_json({"type": "money", "value": 10**400}).to_update_value() == 10**400


def test_deep_nesting_is_a_400_not_a_crash():
    with pytest.raises(PluginError) as e:
        BotRequest.parse("[" * 100_000)
    assert e.value.status == 400


def test_task_id_falls_back_to_the_tasks_own():
    assert BotRequest.from_json({"task": {"id": "7"}}).task_id == 7
