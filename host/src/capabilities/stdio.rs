//! Plugin stdout and stderr: captured per call, capped (`max_output_kb`), and written to the
//! host log as one escaped event per stream, tagged with the call's span (plugin, task). A plugin never writes to the host's
//! own stdio. Always granted.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime::component::Linker;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::WasiCtxBuilder;

use super::{Capability, Entry, GrantError, HasState, Section};

/// `max_output_kb` when not set: bytes of stdout, and of stderr, kept per call.
const DEFAULT_MAX_OUTPUT_BYTES: usize = 16 << 10;

pub struct Stdio;

/// A call's two captured streams.
pub struct Streams {
    stdout: Captured,
    stderr: Captured,
}

impl Capability for Stdio {
    const NAME: &'static str = "stdio";
    const KEYS: &'static [&'static str] = &["max_output_kb"];
    const DEFAULT_KEYS: &'static [&'static str] = &["max_output_kb"];
    type Settings = ();
    /// Bytes kept per stream and call.
    type Grant = usize;
    type State = Streams;

    fn settings(_: Section) -> Result<(), GrantError> {
        Ok(())
    }

    fn grant(entry: &mut Entry<'_>) -> Result<usize, GrantError> {
        match entry.take::<u64>("max_output_kb")? {
            None => Ok(DEFAULT_MAX_OUTPUT_BYTES),
            Some(kb) if kb <= 16 * 1024 => Ok((kb as usize) << 10),
            Some(kb) => {
                Err(entry.error("max_output_kb", format!("{kb} is out of range 0..=16384")))
            }
        }
    }

    async fn open(_: &(), _: &[&usize]) -> anyhow::Result<Stdio> {
        Ok(Stdio)
    }

    fn closed(_: &()) -> Stdio {
        Stdio
    }

    /// WASI's own stdout and stderr carry the output: nothing to link.
    fn link<T: HasState<Self>>(_: &mut Linker<T>) -> wasmtime::Result<()> {
        Ok(())
    }

    fn state(&self, cap: &usize) -> Streams {
        Streams {
            stdout: Captured::new(*cap),
            stderr: Captured::new(*cap),
        }
    }

    fn configure_wasi(streams: &Streams, wasi: &mut WasiCtxBuilder) {
        wasi.stdout(streams.stdout.clone())
            .stderr(streams.stderr.clone());
    }

    fn finish(streams: &Streams) {
        streams.stdout.report("stdout");
        streams.stderr.report("stderr");
    }
}

/// One captured stream of one call. Output past its cap (`max_output_kb`) is
/// counted and dropped; writes never fail, so a chatty plugin is not broken by the cap.
#[derive(Clone)]
pub struct Captured(Arc<Mutex<Capture>>);

struct Capture {
    cap: usize,
    bytes: Vec<u8>,
    dropped: usize,
}

impl Captured {
    pub fn new(cap: usize) -> Self {
        Captured(Arc::new(Mutex::new(Capture {
            cap,
            bytes: Vec::new(),
            dropped: 0,
        })))
    }

    /// Writes what was captured to the host log: one event per stream and call, control
    /// characters (newlines included) escaped, and the cap applying to what is logged, so
    /// that a plugin cannot multiply its output into many log lines.
    pub fn report(&self, stream: &'static str) {
        let capture = self.0.lock().unwrap();
        if capture.bytes.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&capture.bytes);
        let text = crate::text::sanitize(text.trim_end_matches('\n'), capture.cap);
        tracing::info!(target: "plugin", stream, "{text}");
        if capture.dropped > 0 {
            tracing::warn!(
                stream,
                dropped_bytes = capture.dropped,
                "plugin output over the {}-byte cap was dropped",
                capture.cap
            );
        }
    }
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl Captured {
    fn append(&self, buf: &[u8]) {
        let mut capture = self.0.lock().unwrap();
        let room = capture.cap.saturating_sub(capture.bytes.len());
        let kept = buf.len().min(room);
        capture.bytes.extend_from_slice(&buf[..kept]);
        capture.dropped += buf.len() - kept;
    }
}

impl StdoutStream for Captured {
    /// A direct, always-ready stream: no worker task and no round trip per write, which
    /// matters for a plugin that prints in a loop.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Captured {
    async fn ready(&mut self) {}
}

impl OutputStream for Captured {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

impl AsyncWrite for Captured {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
