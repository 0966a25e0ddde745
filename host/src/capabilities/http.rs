//! Outbound HTTP (`wasi:http/outgoing-handler`), checked against the plugin's
//! `allowed_outbound_hosts` and denied by default. Per call, the number of requests
//! (`max_outbound_requests`), each request's time (`outbound_timeout_ms`) and each response
//! body's size (`max_outbound_response_kb`) are capped.
//!
//! The request itself is wasmtime-wasi-http's (hyper and rustls with the webpki roots); this
//! module only decides whether it may go out and bounds it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttp, WasiHttpCtx, WasiHttpCtxView,
    WasiHttpHooks,
};

use super::{Capability, Entry, GrantError, HasState, Section};

/// The longest `outbound_timeout_ms`: Pyrus waits 60 s for a bot's answer.
const MAX_OUTBOUND_TIMEOUT_MS: u64 = 60_000;

/// The capability.
pub struct OutboundHttp;

/// Where one plugin may send requests, and its limits.
#[derive(Debug, Clone, Default)]
pub struct HttpGrant(Arc<HttpGrantInner>);

#[derive(Debug, Default)]
struct HttpGrantInner {
    /// Empty: nowhere.
    allowed: Vec<AllowedHost>,
    limits: OutboundLimits,
}

/// One call's outbound HTTP: wasmtime-wasi-http's context and our hooks.
/// wasmtime-wasi-http's largest `check-write` on an outgoing body (its default chunk size).
const OUTGOING_BODY_CHUNK_BYTES: usize = 1 << 20;

pub struct HttpState {
    ctx: WasiHttpCtx,
    hooks: OutboundHooks,
}

impl Capability for OutboundHttp {
    const NAME: &'static str = "outbound HTTP";
    const KEYS: &'static [&'static str] = &[
        "allowed_outbound_hosts",
        "max_outbound_requests",
        "outbound_timeout_ms",
        "max_outbound_response_kb",
    ];
    type Settings = ();
    type Grant = HttpGrant;
    type State = HttpState;

    fn settings(_: Section) -> Result<(), GrantError> {
        Ok(())
    }

    fn grant(entry: &mut Entry<'_>) -> Result<HttpGrant, GrantError> {
        let hosts: Vec<String> = entry.take("allowed_outbound_hosts")?.unwrap_or_default();
        let allowed = hosts
            .iter()
            .map(|h| AllowedHost::parse(h).map_err(|e| entry.error("allowed_outbound_hosts", e)))
            .collect::<Result<_, _>>()?;
        let mut limits = OutboundLimits::default();
        if let Some(n) = entry.take::<u32>("max_outbound_requests")? {
            if !(1..=1000).contains(&n) {
                return Err(entry.error(
                    "max_outbound_requests",
                    format!("{n} is out of range 1..=1000"),
                ));
            }
            limits.max_requests = n;
        }
        if let Some(ms) = entry.take::<u64>("outbound_timeout_ms")? {
            if !(1..=MAX_OUTBOUND_TIMEOUT_MS).contains(&ms) {
                return Err(entry.error(
                    "outbound_timeout_ms",
                    format!("{ms} is out of range 1..={MAX_OUTBOUND_TIMEOUT_MS}"),
                ));
            }
            limits.timeout = Duration::from_millis(ms);
        }
        if let Some(kb) = entry.take::<u64>("max_outbound_response_kb")? {
            if !(1..=1 << 20).contains(&kb) {
                return Err(entry.error(
                    "max_outbound_response_kb",
                    format!("{kb} is out of range 1..=1048576"),
                ));
            }
            limits.max_response_bytes = kb << 10;
        }
        Ok(HttpGrant(Arc::new(HttpGrantInner { allowed, limits })))
    }

    async fn open(_: &(), _: &[&HttpGrant]) -> anyhow::Result<OutboundHttp> {
        Ok(OutboundHttp)
    }

    fn closed(_: &()) -> OutboundHttp {
        OutboundHttp
    }

    fn link<T: HasState<Self>>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
        use wasmtime_wasi_http::p2::bindings::{http, LinkOptions};
        // Every plugin may import wasi:http; whether a request goes out is decided per
        // request against the plugin's allow-list.
        http::outgoing_handler::add_to_linker::<T, WasiHttp>(linker, view)?;
        http::types::add_to_linker::<T, WasiHttp>(linker, &LinkOptions::default().into(), view)
    }

    fn state(&self, grant: &HttpGrant) -> HttpState {
        HttpState {
            ctx: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                grant: grant.clone(),
                requests: 0,
            },
        }
    }

    /// A request body may be written in chunks as large as `check-write` allows
    /// (wasmtime-wasi-http's default: 1 MiB), with its headers beside.
    fn max_transfer(state: &HttpState) -> usize {
        match state.hooks.grant.0.allowed.is_empty() {
            true => 0,
            false => OUTGOING_BODY_CHUNK_BYTES + (64 << 10),
        }
    }

    fn describe(grant: &HttpGrant) -> Option<String> {
        let n = grant.0.allowed.len();
        (n > 0).then(|| format!("outbound to {n} hosts"))
    }
}

fn view<T: HasState<OutboundHttp>>(data: &mut T) -> WasiHttpCtxView<'_> {
    let view = data.view();
    WasiHttpCtxView {
        ctx: &mut view.state.ctx,
        table: view.table,
        hooks: &mut view.state.hooks,
    }
}

/// One `allowed_outbound_hosts` entry: `https://api.pyrus.com`, `https://*.example.com`,
/// `http://127.0.0.1:8080`. A missing port means the scheme's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: String,
    /// Lower case; `*.example.com` is kept as the suffix `.example.com` with `wildcard`.
    host: String,
    wildcard: bool,
    port: u16,
}

impl AllowedHost {
    pub fn parse(text: &str) -> Result<AllowedHost, String> {
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("{text:?}: expected SCHEME://HOST[:PORT], e.g. https://api.pyrus.com")
        })?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(format!("{text:?}: the scheme must be http or https")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('@') || rest.is_empty() {
            return Err(format!(
                "{text:?}: give only SCHEME://HOST[:PORT], without a path or user"
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
                let port = port
                    .parse()
                    .map_err(|_| format!("{text:?}: {port:?} is not a port"))?;
                (host, port)
            }
            _ => (rest, default_port),
        };
        let host = host.to_ascii_lowercase();
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() && !suffix.contains('*') => {
                (format!(".{suffix}"), true)
            }
            _ if host.contains('*') => {
                return Err(format!(
                    "{text:?}: a wildcard is allowed only as the first label (*.example.com)"
                ))
            }
            _ => (host, false),
        };
        Ok(AllowedHost {
            scheme,
            host,
            wildcard,
            port,
        })
    }

    /// Whether a request to `scheme://host:port` is allowed by this entry.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = if self.wildcard {
            host.ends_with(&self.host) && host.len() > self.host.len()
        } else {
            host == self.host
        };
        scheme.eq_ignore_ascii_case(&self.scheme) && port == self.port && host_ok
    }
}

/// The outbound limits of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    pub max_requests: u32,
    pub timeout: Duration,
    pub max_response_bytes: u64,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        OutboundLimits {
            max_requests: 10,
            timeout: Duration::from_secs(10),
            max_response_bytes: 4 << 20,
        }
    }
}

/// The per-call hooks: the plugin's allow-list and limits, and what the call used so far.
struct OutboundHooks {
    grant: HttpGrant,
    requests: u32,
}

impl OutboundHooks {
    fn check(&mut self, uri: &http::Uri) -> Result<(), String> {
        let scheme = uri.scheme_str().unwrap_or("https");
        let host = uri.host().unwrap_or_default();
        let port = uri
            .port_u16()
            .unwrap_or(if scheme.eq_ignore_ascii_case("http") {
                80
            } else {
                443
            });
        // Denied attempts count too: each is logged, and a plugin must not be able to
        // write warnings without bound.
        let limit = self.grant.0.limits.max_requests;
        if self.requests >= limit {
            return Err(format!(
                "over the limit of {limit} outbound requests per call"
            ));
        }
        self.requests += 1;
        if !self
            .grant
            .0
            .allowed
            .iter()
            .any(|a| a.allows(scheme, host, port))
        {
            let target = format!("{scheme}://{host}:{port}");
            return Err(format!(
                "{} is not in allowed_outbound_hosts",
                crate::text::sanitize(&target, 256)
            ));
        }
        Ok(())
    }
}

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ),
    HttpError,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        // The path and query are not logged: they may carry tokens.
        let method = request.method().clone();
        if let Err(reason) = self.check(request.uri()) {
            tracing::warn!(%method, "outbound request denied: {reason}");
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let limits = self.grant.0.limits;
        let options = RequestOptions {
            connect_timeout: Some(limits.timeout),
            first_byte_timeout: Some(limits.timeout),
            between_bytes_timeout: Some(limits.timeout),
        };
        let host = request.uri().host().unwrap_or_default().to_string();
        Box::new(async move {
            let started = std::time::Instant::now();
            let (response, io) = tokio::time::timeout(
                limits.timeout,
                wasmtime_wasi_http::default_send_request(request, Some(options)),
            )
            .await
            .map_err(|_| HttpError::HttpResponseTimeout)??;
            tracing::info!(
                %method,
                host,
                status = response.status().as_u16(),
                duration_ms = started.elapsed().as_millis() as u64,
                "outbound request"
            );
            let response = response.map(|body| {
                Capped {
                    inner: body,
                    left: limits.max_response_bytes,
                    limit: limits.max_response_bytes,
                }
                .boxed_unsync()
            });
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// A response body that fails once it has delivered more than `limit` bytes.
struct Capped<B> {
    inner: B,
    left: u64,
    limit: u64,
}

impl<B> Body for Capped<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let frame = match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            other => return other,
        };
        if let Some(data) = frame.data_ref() {
            let len = data.len() as u64;
            if len > self.left {
                tracing::warn!(
                    limit = self.limit,
                    "outbound response body over the limit, cut"
                );
                return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(self.limit)))));
            }
            self.left -= len;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::AllowedHost;

    fn allows(entry: &str, scheme: &str, host: &str, port: u16) -> bool {
        AllowedHost::parse(entry)
            .unwrap()
            .allows(scheme, host, port)
    }

    #[test]
    fn allow_list_matching() {
        assert!(allows(
            "https://api.pyrus.com",
            "https",
            "api.pyrus.com",
            443
        ));
        assert!(allows(
            "https://API.pyrus.com/",
            "https",
            "api.Pyrus.com",
            443
        ));
        assert!(!allows(
            "https://api.pyrus.com",
            "http",
            "api.pyrus.com",
            80
        ));
        assert!(!allows(
            "https://api.pyrus.com",
            "https",
            "api.pyrus.com",
            8443
        ));
        assert!(!allows("https://api.pyrus.com", "https", "evil.com", 443));
        assert!(allows(
            "https://*.pyrus.com",
            "https",
            "extensions.pyrus.com",
            443
        ));
        assert!(allows("https://*.pyrus.com", "https", "a.b.pyrus.com", 443));
        assert!(!allows("https://*.pyrus.com", "https", "pyrus.com", 443));
        assert!(!allows(
            "https://*.pyrus.com",
            "https",
            "evilpyrus.com",
            443
        ));
        assert!(allows("http://127.0.0.1:8080", "http", "127.0.0.1", 8080));
        assert!(!allows("http://127.0.0.1:8080", "http", "127.0.0.1", 8081));
        for bad in [
            "api.pyrus.com",
            "ftp://x",
            "https://a/b",
            "https://*",
            "https://a.*.com",
            "https://u@a",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
