//! Opening a connection: unix sockets, TCP, or a command's standard input and output (how
//! libvirt tunnels through ssh).

use std::process::Stdio;

use super::uri::Transport;
use super::{Client, Error, Options};

/// Connects over `transport` and starts the connection's tasks.
///
/// A command is started with its standard input and output as the connection and its standard
/// error inherited (ssh's prompts and errors reach the user); it is killed when the connection
/// is dropped and it has not exited by itself.
pub async fn connect(transport: &Transport, options: Options) -> Result<Client, Error> {
    match transport {
        Transport::Unix(path) => {
            let s = tokio::net::UnixStream::connect(path).await.map_err(|e| {
                Error::from(std::io::Error::new(
                    e.kind(),
                    format!("cannot connect to {}: {e}", path.display()),
                ))
            })?;
            let (r, w) = s.into_split();
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
            let (r, w) = s.into_split();
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
            // Reap the child when it exits (its stdout closing ends the connection).
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            Ok(Client::new(r, w, options))
        }
    }
}
