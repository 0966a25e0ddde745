import json

import app  # noqa: F401  (registers the bot)
from pyrus_plugin import testing


def reply(body: str) -> dict:
    return json.loads(testing.handle_json(body))


def test_greets_the_author_and_approves():
    r = reply('{"task":{"id":1,"author":{"id":2,"email":"bob@example.com"},'
              '"comments":[{"id":3,"author":{"id":2}}]}}')
    assert r["text"] == "Hello, bob@example.com. This task approved by bot."
    assert r["approval_choice"] == "approved"


def test_survives_missing_pieces():
    r = reply('{"task":{"id":1,"author":{"id":2,"email":"","first_name":"Bob","last_name":""}}}')
    assert r["text"] == "Hello, Bob. This task approved by bot."
    assert reply('{"task_id":"5"}')["text"] == "Hello. This task approved by bot."
