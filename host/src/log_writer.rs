//! Where log lines go: a thread of their own that writes them to stderr in batches. A call's
//! log line then costs the worker that served it a copy into a channel, not a write(2) nor a
//! thread wake-up: the writer writes every line waiting with one system call, then lets the
//! next lines gather for a few milliseconds.
//!
//! Nothing is dropped: when the writer falls far behind, loggers wait for it. Lines still in
//! the channel when the process exits are written by [`FlushGuard`]'s drop.

use std::io::IsTerminal;
use std::io::{BufWriter, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::OnceLock;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting before a logger has to wait for the writer.
const BACKLOG: usize = 16 * 1024;

/// How long the writer lets lines gather after writing a batch: the most a line waits.
const GATHER: Duration = Duration::from_millis(5);

enum Message {
    Line(Vec<u8>),
    /// A status line shown under the log on a terminal (redrawn after each batch of lines),
    /// or `None` to end it.
    Status(Option<String>),
    /// Write everything before this, then answer.
    Flush(SyncSender<()>),
}

/// The `MakeWriter` for tracing-subscriber's fmt layer.
#[derive(Clone)]
pub struct BackgroundStderr {
    tx: SyncSender<Message>,
}

/// Flushes the log when dropped: keep it alive until `main` returns.
pub struct FlushGuard {
    tx: SyncSender<Message>,
}

impl BackgroundStderr {
    /// Starts the writer thread.
    pub fn start() -> (BackgroundStderr, FlushGuard) {
        let (tx, rx) = sync_channel(BACKLOG);
        let _ = STATUS.set(tx.clone());
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(rx))
            .expect("start the log writer thread");
        (BackgroundStderr { tx: tx.clone() }, FlushGuard { tx })
    }
}

/// The writer's channel, for [`status`].
static STATUS: OnceLock<SyncSender<Message>> = OnceLock::new();

/// Shows `line` as a status line under the log when stderr is a terminal (`None` ends it,
/// keeping its last text): e.g. compile progress. Ignored elsewhere: logs have their lines.
pub fn status(line: Option<String>) {
    if let Some(tx) = STATUS.get() {
        if std::io::stderr().is_terminal() {
            let _ = tx.send(Message::Status(line));
        }
    }
}

/// Erases the status line before lines are written under it.
const CLEAR_LINE: &[u8] = b"\r\x1b[2K";

fn write_lines(rx: Receiver<Message>) {
    let mut out = BufWriter::with_capacity(64 << 10, std::io::stderr());
    let mut shown: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        if shown.is_some() {
            let _ = out.write_all(CLEAR_LINE);
        }
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Status(Some(line)) => shown = Some(line),
                Message::Status(None) => {
                    // The last status stays, as a line of its own.
                    if let Some(last) = shown.take() {
                        let _ = writeln!(out, "{last}");
                    }
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        if let Some(line) = &shown {
            let _ = out.write_all(line.as_bytes());
        }
        let _ = out.flush();
        // Let lines gather: a logger then only queues its line, with no thread to wake (a
        // wake-up per line would cost more than the write it saves).
        std::thread::sleep(GATHER);
    }
}

impl FlushGuard {
    /// Returns once every line logged so far is written (or after 2 s).
    pub fn flush(&self) {
        let (done, wait) = sync_channel(1);
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(2));
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.flush();
    }
}

/// One event's bytes, sent as one line when the fmt layer is done with it.
pub struct Line {
    buf: Vec<u8>,
    tx: SyncSender<Message>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            // The writer thread lives as long as the process; if it is gone, so is stderr.
            let _ = self.tx.send(Message::Line(line));
        }
    }
}

impl<'a> MakeWriter<'a> for BackgroundStderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            buf: Vec::with_capacity(256),
            tx: self.tx.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_arrive_whole_and_in_order_and_flush_waits_for_them() {
        let (writer, guard) = BackgroundStderr::start();
        for i in 0..10 {
            let mut line = writer.make_writer();
            write!(line, "line {i}").unwrap();
            writeln!(line).unwrap();
        }
        drop(guard); // returns once all 10 were written (to the test's stderr)
    }
}
