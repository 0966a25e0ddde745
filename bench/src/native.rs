//! `bench serve-native`: the practical ceiling. A native axum server doing the same work as
//! pyrus-host serving hello-bot, in Rust, with no sandbox: verify the HMAC over the raw body,
//! parse the body with the SDK's models, and build the reply with hello-bot's own code.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use pyrus_plugin_sdk::CallInfo;
use sha1::Sha1;

use crate::server::SECRET;

pub fn serve() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        eprintln!(r#"{{"fields":{{"message":"listening","addr":"{addr}"}}}}"#);
        let app = Router::new().route("/bots/{name}", post(handle));
        axum::serve(listener, app).await?;
        Ok(())
    })
}

async fn handle(headers: HeaderMap, body: Bytes) -> Response {
    let Some(sig) = headers
        .get("x-pyrus-sig")
        .and_then(|v| hex::decode(v.as_bytes().trim_ascii()).ok())
    else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let mut mac = Hmac::<Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&body);
    if mac.verify_slice(&sig).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Ok(text) = String::from_utf8(body.to_vec()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match pyrus_plugin_sdk::bot::handle_json::<hello_bot::HelloBot>(&CallInfo::new("hello"), text) {
        Ok(Some(reply)) => ([("content-type", "application/json")], reply).into_response(),
        Ok(None) => StatusCode::OK.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.message).into_response(),
    }
}
