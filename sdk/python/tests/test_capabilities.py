import pytest

from pyrus_plugin import BotRequest, log, testing, variables
from pyrus_plugin.http import HttpError, Request, Response, send, split_url
from pyrus_plugin.pyrus import ApiError, PyrusApi
from pyrus_plugin.store import Store, StoreError


def test_store_fake_behaves_like_the_host():
    s = Store.open()
    assert s.get("k") is None and not s.exists("k")
    assert s.increment("n", 2) == 2 and s.increment("n") == 3
    assert s.get_string("n") == "3"  # the host keeps counters as decimal text too
    s.set("k", "v")
    assert s.keys() == ["k", "n"]
    s.delete("k")
    assert not s.exists("k")
    with pytest.raises(StoreError) as e:
        Store.open("other")
    assert e.value.kind == "access_denied" and e.value.status == 500


def test_unavailable_store_is_a_503():
    e = StoreError("other", "store unavailable: connection refused")
    assert e.is_unavailable and e.status == 503 and e.code == "store_unavailable"


def test_http_is_denied_unless_a_test_answers():
    with pytest.raises(HttpError) as e:
        send(Request.get("https://example.com/"))
    assert e.value.kind == "denied" and e.value.status == 502
    testing.respond_http(lambda r: Response(200, [("X-A", "1")], r.body))
    out = send(Request.post("https://example.com/echo").json({"a": 1}))
    assert out.json() == {"a": 1} and out.header("x-a") == "1"
    assert "Bearer" not in repr(Request.get("https://e.com/?token=x").bearer("t"))


@pytest.mark.parametrize("url", ["ftp://x/", "https:///path", "nothing"])
def test_bad_urls_are_refused(url):
    with pytest.raises(HttpError) as e:
        split_url(url)
    assert e.value.kind == "invalid_url"


def test_pyrus_api_errors_and_rate_limits():
    req = BotRequest.parse('{"access_token": "s3cr3t", "api_url": "https://api.pyrus.com/v4"}')
    api = PyrusApi.for_bot(req)
    assert "s3cr3t" not in repr(api)
    testing.respond_http(lambda r: Response(429, [("X-RateLimit-Reset", "42")], b""))
    with pytest.raises(ApiError) as e:
        api.get_task(1)
    assert (e.value.code, e.value.status, e.value.details["reset_seconds"]) == ("rate_limited", 503, 42)
    testing.respond_http(lambda r: Response(403, [], b'{"error":"nope","error_code":"access_denied"}'))
    with pytest.raises(ApiError) as e:
        api.get_task(1)
    assert "access_denied" in e.value.message and e.value.status == 502
    sent = testing.sent()[-1]
    assert sent.url == "https://api.pyrus.com/v4/tasks/1" and ("Authorization", "Bearer s3cr3t") in sent.headers


def test_variables_and_logs():
    testing.set_variables({"b": "2", "a": "1"})
    assert variables.all() == [("a", "1"), ("b", "2")]
    with pytest.raises(Exception) as e:
        variables.require("missing")
    assert "misconfigured" in str(e.value)
    log.warn("careful")
    assert testing.logs() == [("warn", "careful")]


def test_nothing_secret_in_reprs_or_url_errors():
    r = Response(200, [("set-cookie", "S3CRET")], b'{"access_token": "S3CRET"}')
    assert "S3CRET" not in repr(r)
    with pytest.raises(HttpError) as e:
        split_url("ftp://h/x?token=S3CRET#access_token=S3CRET")
    assert "S3CRET" not in e.value.message
    assert split_url("https://h/p?q=1#frag") == (True, "h", "/p?q=1")


def test_a_counter_only_grows():
    with pytest.raises(StoreError):
        Store.open().increment("n", -1)
