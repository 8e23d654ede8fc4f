//! Opening a connection: unix sockets, TCP, or a command's standard input and output (how
//! libvirt tunnels through ssh).

use std::future::Future;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::watch;

use super::uri::Transport;
use super::{Client, Error, Options};

/// Connects over `transport` and starts the connection's tasks.
///
/// A command is started with its standard input and output as the connection and its standard
/// error inherited (ssh's prompts and errors reach the user). It is killed when the connection
/// closes (or is dropped) and it has not exited by itself; when it exits with a failure, the
/// connection ends with an error that gives its exit status (`the command `ssh` exit status:
/// 255`).
pub async fn connect(transport: &Transport, options: Options) -> Result<Client, Error> {
    match transport {
        Transport::Unix(path) => {
            let s = tokio::net::UnixStream::connect(path).await.map_err(|e| {
                Error::from(std::io::Error::new(
                    e.kind(),
                    format!("cannot connect to {}: {e}", path.display()),
                ))
            })?;
            let (r, w) = crate::mux::socket::split(s.into_std()?)?;
            Ok(Client::new(r, w, options))
        }
        Transport::Tcp { host, port } => {
            let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| {
                    Error::from(std::io::Error::new(
                        e.kind(),
                        format!("cannot connect to {host}:{port}: {e}"),
                    ))
                })?;
            s.set_nodelay(true)?;
            let (r, w) = crate::mux::socket::split(s.into_std()?)?;
            Ok(Client::new(r, w, options))
        }
        Transport::Command { program, args } => {
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| {
                    Error::from(std::io::Error::new(
                        e.kind(),
                        format!("cannot run `{program}`: {e}"),
                    ))
                })?;
            let (Some(w), Some(r)) = (child.stdin.take(), child.stdout.take()) else {
                return Err(Error::protocol("the command's stdio could not be captured"));
            };
            let (status_tx, status_rx) = watch::channel(None);
            let exit = Exit {
                program: program.clone(),
                status: status_rx,
            };
            let read = CommandIo {
                io: r,
                exit: exit.clone(),
                waiting: None,
            };
            let write = CommandIo {
                io: w,
                exit,
                waiting: None,
            };
            let client = Client::new(read, write, options);
            let mut closing = client.closing();
            // Kill the command when the connection closes; reap it, and publish its exit
            // status to both halves (a failing ssh ends the connection with its status).
            tokio::spawn(async move {
                let exited = tokio::select! {
                    status = child.wait() => Some(status),
                    _ = closing.wait_for(|c| *c) => None,
                };
                let status = match exited {
                    Some(status) => status,
                    None => {
                        let _ = child.start_kill();
                        child.wait().await
                    }
                };
                status_tx.send_replace(Some(status.ok()));
            });
            Ok(client)
        }
    }
}

/// How long the end of a command's output, or a failed write to it, waits for its exit status.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Waits for a command's exit status: the error that says how it failed, if it did.
type Failure = Pin<Box<dyn Future<Output = Option<std::io::Error>> + Send>>;

/// A command's exit status, once it has been reaped (`Some(None)`: it could not be).
#[derive(Clone)]
struct Exit {
    program: String,
    status: watch::Receiver<Option<Option<ExitStatus>>>,
}

impl Exit {
    /// The error that says how the command failed, if it did; waits up to [`EXIT_WAIT`] for
    /// the command to exit.
    fn failure(&self) -> Failure {
        let (program, mut status) = (self.program.clone(), self.status.clone());
        Box::pin(async move {
            let waited = tokio::time::timeout(EXIT_WAIT, status.wait_for(Option::is_some)).await;
            let exit = match waited {
                Ok(Ok(s)) => (*s).flatten(),
                _ => None,
            }?;
            (!exit.success())
                .then(|| std::io::Error::other(format!("the command `{program}` {exit}")))
        })
    }
}

/// One of a command's standard streams. Where it ends (end of output, or a failed write to
/// its input), the command has exited or is about to: a command that failed turns that end
/// into an error that says how, whichever half sees it first.
struct CommandIo<T> {
    io: T,
    exit: Exit,
    /// Waiting for the exit status, with what to answer if the command did not fail.
    waiting: Option<(Failure, Option<std::io::Error>)>,
}

impl<T> CommandIo<T> {
    /// Waits for the exit status before answering `end` (`None`: the end of the output).
    fn finish(
        &mut self,
        cx: &mut Context<'_>,
        end: Option<std::io::Error>,
    ) -> Poll<Option<std::io::Error>> {
        let (failure, end) = self
            .waiting
            .get_or_insert_with(|| (self.exit.failure(), end));
        let failure = ready!(failure.as_mut().poll(cx));
        let end = end.take();
        self.waiting = None;
        Poll::Ready(failure.or(end))
    }
}

impl AsyncRead for CommandIo<ChildStdout> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        if self.waiting.is_none() {
            match ready!(Pin::new(&mut self.io).poll_read(cx, buf)) {
                Ok(()) if buf.filled().len() > before || buf.remaining() == 0 => {
                    return Poll::Ready(Ok(()))
                }
                Ok(()) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        match ready!(self.finish(cx, None)) {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncWrite for CommandIo<ChildStdin> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.waiting.is_none() {
            match ready!(Pin::new(&mut self.io).poll_write(cx, data)) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => return Poll::Ready(other),
            }
            let e = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
            self.waiting = Some((self.exit.failure(), Some(e)));
        }
        let e = ready!(self.finish(cx, None));
        Poll::Ready(Err(
            e.unwrap_or_else(|| std::io::ErrorKind::BrokenPipe.into())
        ))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
