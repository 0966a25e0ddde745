import json

import pytest

from pyrus_plugin import (AuthorizeReply, BotReply, Extension, FieldUpdate, InboundResponse,
                          Person, PluginError, SendMessageReply)
from pyrus_plugin.testing import handle_extension_json


def test_reply_vocabulary_matches_the_rust_sdk():
    r = (BotReply().text("t").formatted_text("<b>t</b>").subject("s").reject()
         .reassign_to(Person.from_json({"id": 5})).field_update(FieldUpdate.by_name("Sum", 1))
         .finish().attach("guid-1").add_approver(2, "a@b.c").add_subscriber(7)
         .due_date("2026-12-31").spent_minutes(15).channel("telegram", to="chat"))
    assert r.to_dict() == {
        "text": "t", "formatted_text": "<b>t</b>", "subject": "s", "approval_choice": "rejected",
        "reassign_to": {"id": 5}, "field_updates": [{"name": "Sum", "value": 1}],
        "action": "finished", "attachments": ["guid-1"], "approvals_added": [[], [{"email": "a@b.c"}]],
        "subscribers_added": [{"id": 7}], "due_date": "2026-12-31", "spent_minutes": 15,
        "channel": {"type": "telegram", "to": "chat"}}
    assert json.loads(BotReply().text("ünï").to_json()) == {"text": "ünï"}


class Sender(Extension):
    def send_message(self, req, call):
        return SendMessageReply(f"{req.channel()}-1")

    def authorize(self, req, call):
        if req.credential("token") != "good":
            raise PluginError("bad_credentials", "the token is not valid")
        return AuthorizeReply("acc", "Account")


def test_extension_dispatch():
    assert handle_extension_json(Sender(), "sendmessage", '{"channel_id":"c7","message_text":"hi"}') == '{"message_id":"c7-1"}'
    assert handle_extension_json(Sender(), "pulse") is None
    with pytest.raises(PluginError) as e:
        handle_extension_json(Sender(), "toggle", "{}")
    assert (e.value.code, e.value.status) == ("not_supported", 501)
    with pytest.raises(PluginError) as e:
        handle_extension_json(Sender(), "newwebhook", "{}")
    assert e.value.status == 501
    with pytest.raises(PluginError) as e:
        handle_extension_json(Sender(), "sendmessage", "[1]")
    assert e.value.status == 400
    with pytest.raises(PluginError) as e:
        handle_extension_json(Sender(), "sendmessage", "{}")
    assert e.value.message == "channel_id is missing"


def test_credentials_never_show_in_repr():
    from pyrus_plugin import AuthorizeRequest

    req = AuthorizeRequest.parse('{"credentials":[{"code":"password","value":"hunter2"}]}')
    assert req.credential("password") == "hunter2"
    assert "hunter2" not in repr(req) and "hunter2" not in repr(req.credentials)


def test_inbound_response_json():
    r = InboundResponse.json(201, {"a": [1]})
    assert (r.status, r.body, r.headers) == (201, b'{"a":[1]}', [("content-type", "application/json")])
