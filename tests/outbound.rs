//! End-to-end tests of calls to and from external systems: outbound HTTP (`wasi:http`), the
//! SDK's Pyrus API client, inbound calls, and relay-extension's round trip. The real binary
//! and plugins, with local servers standing in for the Pyrus APIs and a messenger.

mod support;

use support::mock::MockServer;
use support::Host;

const SECRET: &str = "outbound-secret";

fn host(mock: &MockServer, extra_fetch: &str) -> Host {
    let allowed = format!("http://127.0.0.1:{}", mock.port);
    let url = mock.url("/hello");
    Host::builder(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [bots.denied]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch"
        variables = {{ url = "{url}" }}

        [bots.other-port]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch"
        variables = {{ url = "{url}" }}
        allowed_outbound_hosts = ["http://127.0.0.1:1"]

        [bots.fetch]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch"
        variables = {{ url = "{url}" }}
        allowed_outbound_hosts = ["{allowed}"]
        {extra_fetch}

        [bots.many]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "fetch-many"
        variables = {{ url = "{url}" }}
        allowed_outbound_hosts = ["{allowed}"]
        max_outbound_requests = 3

        [bots.comment]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "OUT_SECRET" }}
        settings = "comment"
        allowed_outbound_hosts = ["{allowed}"]
        # Called again with the same body to meet other API answers: each call must run.
        dedup_window_s = 0
        "#
    ))
    .env("OUT_SECRET", SECRET)
    .start()
}

fn text(host: &Host, bot: &str, body: &[u8]) -> String {
    let r = host.post_signed(&format!("/bots/{bot}"), SECRET, body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["text"].as_str().unwrap().to_string()
}

const TASK: &[u8] = br#"{"task_id": 1, "task": {"id": 1}}"#;

#[test]
fn requests_are_denied_unless_the_host_is_allowed() {
    let mock = MockServer::start();
    mock.answer("/hello", 200, &[], "hi there");
    let host = host(&mock, "");
    assert_eq!(
        text(&host, "denied", TASK),
        "error: the host denied the request (allowed_outbound_hosts)"
    );
    assert_eq!(
        text(&host, "other-port", TASK),
        "error: the host denied the request (allowed_outbound_hosts)"
    );
    assert!(mock.requests().is_empty(), "a denied request went out");
    host.wait_for_log("outbound request denied", std::time::Duration::from_secs(5));
    assert!(host.log().contains("is not in allowed_outbound_hosts"));

    assert_eq!(text(&host, "fetch", TASK), "200 hi there");
    assert_eq!(mock.requests().len(), 1);
    assert_eq!(mock.requests()[0].path, "/hello");
}

#[test]
fn requests_per_call_and_response_size_are_capped() {
    let mock = MockServer::start();
    mock.answer("/hello", 200, &[], vec![b'x'; 10 * 1024]);
    let host = host(&mock, "max_outbound_response_kb = 4");
    assert_eq!(
        text(&host, "many", TASK),
        "sent 3, then: the host denied the request (allowed_outbound_hosts)"
    );
    assert_eq!(mock.requests().len(), 3);
    assert_eq!(
        text(&host, "fetch", TASK),
        "error: the response is over the host's limit"
    );
}

#[test]
fn the_pyrus_api_client_comments_with_the_webhook_token() {
    let mock = MockServer::start();
    mock.answer(
        "/v4/tasks/77/comments",
        200,
        &[],
        r#"{"task": {"id": 77, "comments": []}}"#,
    );
    let host = host(&mock, "");
    let body = format!(
        r#"{{"task_id": 77, "access_token": "webhook-token-abc", "api_url": "{}",
            "task": {{"id": 77}}}}"#,
        mock.url("/v4/")
    );
    assert_eq!(text(&host, "comment", body.as_bytes()), "commented: 77");
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/v4/tasks/77/comments")
    );
    assert_eq!(r.headers["authorization"], "Bearer webhook-token-abc");
    let comment: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(comment["text"], "posted through the API");
    assert!(!host.log().contains("webhook-token-abc"), "{}", host.log());

    // The rate limit surfaces typed, with its headers.
    mock.answer(
        "/v4/tasks/77/comments",
        429,
        &[
            ("X-RateLimit-Limit", "5000"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", "42"),
        ],
        r#"{"error":"too many requests","error_code":"too_many_requests"}"#,
    );
    assert_eq!(
        text(&host, "comment", body.as_bytes()),
        "error: Pyrus rate limit reached, resets in 42 s"
    );
}

const RELAY_SECRET: &str = "relay-extension-secret";

fn relay_host(mock: &MockServer) -> Host {
    let allowed = format!("http://127.0.0.1:{}", mock.port);
    Host::builder(&format!(
        r#"
        [server]
        listen = "127.0.0.1:0"

        [extensions.relay]
        plugin = "{{plugins}}/relay_extension.wasm"
        secret = {{ env = "RELAY_SECRET" }}
        inbound = true
        allowed_outbound_hosts = ["{allowed}"]

        [extensions.relay.variables]
        messenger_url = "{messenger}"
        messenger_token = {{ env = "RELAY_MESSENGER_TOKEN" }}
        inbound_secret = {{ env = "RELAY_INBOUND_SECRET" }}
        client_id = "ext@relay-test"
        client_secret = {{ env = "RELAY_CLIENT_SECRET" }}
        extensions_api = "{api}"

        [extensions.closed]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "RELAY_SECRET" }}
        settings = "echo"

        [extensions.echo]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "RELAY_SECRET" }}
        settings = "echo"
        inbound = true

        [extensions.headers]
        plugin = "{{plugins}}/misbehaving.wasm"
        secret = {{ env = "RELAY_SECRET" }}
        settings = "many-headers"
        inbound = true
        "#,
        messenger = mock.url("/api/send"),
        api = mock.url("/v1/"),
    ))
    .env("RELAY_SECRET", RELAY_SECRET)
    .env("RELAY_MESSENGER_TOKEN", "messenger-token-xyz")
    .env("RELAY_INBOUND_SECRET", "inbound-shared-secret")
    .env("RELAY_CLIENT_SECRET", "client-secret-123")
    .start()
}

#[test]
fn relay_round_trip_in_both_directions() {
    let mock = MockServer::start();
    mock.answer("/api/send", 200, &[], r#"{"id": "msg-9001"}"#);
    mock.answer(
        "/v1/token",
        200,
        &[],
        r#"{"access_token": "ext-token-456"}"#,
    );
    mock.answer("/v1/getmessage", 200, &[], "{}");
    let host = relay_host(&mock);

    // Pyrus -> messenger.
    let body =
        br#"{"account_id": "acc-1", "channel_id": "chat-7", "message_text": "Hello from Pyrus"}"#;
    let r = host.post_signed("/extensions/relay/sendmessage", RELAY_SECRET, body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["message_id"], "msg-9001");
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/api/send");
    assert_eq!(
        sent[0].headers["authorization"],
        "Bearer messenger-token-xyz"
    );
    let sent_body: serde_json::Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(
        sent_body,
        serde_json::json!({"chat": "chat-7", "text": "Hello from Pyrus"})
    );

    // Messenger -> Pyrus, with the shared secret.
    let message =
        br#"{"account_id": "acc-1", "chat": "chat-7", "text": "Hi back", "sender": "Ann"}"#;
    let r = host.post(
        "/extensions/relay/inbound/messages",
        message,
        &[
            ("X-Relay-Secret", "inbound-shared-secret"),
            ("Content-Type", "application/json"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["delivered"], true);
    let calls = mock.requests();
    let token = calls
        .iter()
        .find(|c| c.path == "/v1/token")
        .expect("a /token call");
    let creds: serde_json::Value = serde_json::from_str(&token.body).unwrap();
    assert_eq!(
        creds,
        serde_json::json!({"client_id": "ext@relay-test", "secret": "client-secret-123"})
    );
    let delivered = calls
        .iter()
        .find(|c| c.path == "/v1/getmessage")
        .expect("a /getmessage call");
    assert_eq!(delivered.headers["authorization"], "Bearer ext-token-456");
    let delivered: serde_json::Value = serde_json::from_str(&delivered.body).unwrap();
    assert_eq!(
        delivered,
        serde_json::json!({"account_id": "acc-1", "channel_id": "chat-7", "message_text": "Hi back", "sender_name": "Ann"})
    );

    // A caller without the secret is turned away by the plugin, and nothing reaches Pyrus.
    let before = mock.requests().len();
    let r = host.post(
        "/extensions/relay/inbound/messages",
        message,
        &[("X-Relay-Secret", "guess")],
    );
    assert_eq!(r.status, 401);
    assert_eq!(mock.requests().len(), before);

    let log = host.log();
    for secret in [
        "messenger-token-xyz",
        "inbound-shared-secret",
        "client-secret-123",
        "ext-token-456",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn inbound_hands_over_the_request_and_is_off_unless_enabled() {
    let mock = MockServer::start();
    let host = relay_host(&mock);
    let r = host.post("/extensions/echo/inbound/hook/a?x=1&y=2", b"payload", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let text = r.json()["text"].as_str().unwrap().to_string();
    assert_eq!(text, "POST /hook/a x=1&y=2 payload");
    let r = host.get("/extensions/echo/inbound");
    assert_eq!(r.json()["text"], "GET /  ");
    // The path arrives as sent: bytes that do not decode to UTF-8 do not stop the call.
    let r = host.post("/extensions/echo/inbound/a%ff/b%2Fc", b"", &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["text"], "POST /a%ff/b%2Fc  ");

    // Not enabled, or no such extension: 404, and the plugin never runs.
    assert_eq!(
        host.post("/extensions/closed/inbound/x", b"{}", &[]).status,
        404
    );
    assert_eq!(
        host.post("/extensions/nobody/inbound/x", b"{}", &[]).status,
        404
    );
    // The signed webhooks are unaffected by the inbound routes.
    assert_eq!(host.get("/extensions/echo/pulse").status, 200);

    // A response with more headers than the host passes on fails, and none of them leaks.
    let r = host.get("/extensions/headers/inbound/x");
    assert_eq!(r.error_code(), "invalid_plugin_reply", "{}", r.body);
    assert!(r.status >= 500, "{}", r.status);
    assert!(!r.body.contains("x-h0"), "{}", r.body);
}
