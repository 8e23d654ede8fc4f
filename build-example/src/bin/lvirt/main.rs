//! `lvirt`: a few of virsh's commands over xdrgen's generated libvirt client
//! (`protocols::Connection`), with virsh 9.0.0's output.
//!
//! ```text
//! lvirt [-c URI] list [--all] [--inactive]
//! lvirt [-c URI] dominfo DOMAIN
//! lvirt [-c URI] domstate DOMAIN [--reason]
//! lvirt [-c URI] dumpxml DOMAIN [--inactive] [--security-info] [--update-cpu] [--migratable]
//! lvirt [-c URI] nodeinfo
//! lvirt [-c URI] version [--daemon]
//! lvirt [-c URI] start|destroy|suspend|resume DOMAIN
//! lvirt [-c URI] event [DOMAIN] (--event NAME | --all | --list) [--loop] [--timeout S] [--timestamp]
//! lvirt [-c URI] screenshot DOMAIN [FILE] [--screen N]
//! ```
//!
//! The URI defaults to `$LIBVIRT_DEFAULT_URI`, else `qemu:///system`. A DOMAIN is an id, a
//! UUID or a name, tried in that order as virsh does. Like virsh, every command that ran
//! (successfully or not) is followed by a blank line on stdout; errors go to stderr as
//! `error: …` lines and exit with status 1.
//!
//! Where lvirt differs from virsh: `version` cannot name a local libvirt library (there is
//! none), and messages about the transport (connection refused, timeouts) are this client's,
//! not libvirt's.

mod commands;
mod events;
mod format;
mod names;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use protocols::Connection;

use commands::{Action, CmdResult, Out, XmlFlags};
use events::EventArgs;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "lvirt",
    version,
    about = "virsh's domain commands over xdrgen's libvirt client"
)]
struct Cli {
    /// Hypervisor connection URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system).
    #[arg(short = 'c', long = "connect", value_name = "URI")]
    connect: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// The commands, with virsh's options.
#[derive(Debug, Subcommand)]
enum Command {
    /// List domains (active ones unless told otherwise).
    List {
        /// List inactive and active domains.
        #[arg(long)]
        all: bool,
        /// List inactive domains.
        #[arg(long)]
        inactive: bool,
    },
    /// Domain information.
    Dominfo {
        /// Domain name, id or UUID.
        domain: String,
    },
    /// Domain state.
    Domstate {
        /// Domain name, id or UUID.
        domain: String,
        /// Also print the reason for the state.
        #[arg(long)]
        reason: bool,
    },
    /// Domain information in XML.
    Dumpxml {
        /// Domain name, id or UUID.
        domain: String,
        /// Show the inactive defined XML.
        #[arg(long)]
        inactive: bool,
        /// Include security sensitive information in the XML dump.
        #[arg(long = "security-info")]
        security_info: bool,
        /// Update guest CPU according to host CPU.
        #[arg(long = "update-cpu")]
        update_cpu: bool,
        /// Provide XML suitable for migrations.
        #[arg(long)]
        migratable: bool,
    },
    /// Node information.
    Nodeinfo,
    /// Show versions.
    Version {
        /// Also show the daemon's version.
        #[arg(long)]
        daemon: bool,
    },
    /// Start a (previously defined) inactive domain.
    Start {
        /// Domain name or UUID.
        domain: String,
    },
    /// Destroy (stop) a domain.
    Destroy {
        /// Domain name, id or UUID.
        domain: String,
    },
    /// Suspend a domain.
    Suspend {
        /// Domain name, id or UUID.
        domain: String,
    },
    /// Resume a domain.
    Resume {
        /// Domain name, id or UUID.
        domain: String,
    },
    /// List event types, or wait for domain events to occur.
    Event {
        /// Filter by domain name, id or UUID.
        domain: Option<String>,
        /// Which event type to wait for.
        #[arg(long, value_name = "TYPE")]
        event: Option<String>,
        /// Wait for all events instead of just one type.
        #[arg(long, conflicts_with = "event")]
        all: bool,
        /// Loop until timeout or interrupt, rather than one-shot.
        #[arg(long = "loop")]
        looping: bool,
        /// Timeout in seconds.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=2_147_483))]
        timeout: Option<u32>,
        /// List valid event types.
        #[arg(long, conflicts_with_all = ["all", "event"])]
        list: bool,
        /// Show a timestamp for each printed event.
        #[arg(long)]
        timestamp: bool,
    },
    /// Take a screenshot of a current domain console and store it into a file.
    Screenshot {
        /// Domain name, id or UUID.
        domain: String,
        /// Where to store the screenshot (default: DOMAIN-DATE-TIME.EXT in the current directory).
        file: Option<PathBuf>,
        /// ID of a screen to take the screenshot of.
        #[arg(long, default_value_t = 0)]
        screen: u32,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // virsh exits 1 on a bad command line; help and version are not errors.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

/// Connects, runs the command, prints virsh's errors and blank line, and disconnects.
async fn run(cli: Cli) -> ExitCode {
    let uri = cli
        .connect
        .or_else(|| std::env::var("LIBVIRT_DEFAULT_URI").ok())
        .unwrap_or_else(|| "qemu:///system".to_string());
    let conn = match Connection::open(&uri).await {
        Ok(conn) => conn,
        Err(e) => {
            // As virsh: two lines and no blank line, since no command ran.
            eprintln!("error: failed to connect to the hypervisor");
            eprintln!("error: {}", commands::error_text(&e));
            return ExitCode::FAILURE;
        }
    };
    let mut out = Out::default();
    let result = dispatch(&conn, &mut out, cli.command).await;
    if let Err(failure) = &result {
        for line in &failure.lines {
            eprintln!("error: {line}");
        }
    }
    out.print("\n");
    let _ = conn.close().await;
    if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs one command.
async fn dispatch(conn: &Connection, out: &mut Out, command: Command) -> CmdResult {
    match command {
        Command::List { all, inactive } => commands::list(conn, out, all, inactive).await,
        Command::Dominfo { domain } => commands::dominfo(conn, out, &domain).await,
        Command::Domstate { domain, reason } => {
            commands::domstate(conn, out, &domain, reason).await
        }
        Command::Dumpxml {
            domain,
            inactive,
            security_info,
            update_cpu,
            migratable,
        } => {
            let flags = XmlFlags {
                security_info,
                inactive,
                update_cpu,
                migratable,
            };
            commands::dumpxml(conn, out, &domain, flags).await
        }
        Command::Nodeinfo => commands::nodeinfo(conn, out).await,
        Command::Version { daemon } => commands::version(conn, out, daemon).await,
        Command::Start { domain } => commands::start(conn, out, &domain).await,
        Command::Destroy { domain } => commands::act(conn, out, &domain, Action::Destroy).await,
        Command::Suspend { domain } => commands::act(conn, out, &domain, Action::Suspend).await,
        Command::Resume { domain } => commands::act(conn, out, &domain, Action::Resume).await,
        Command::Event {
            domain,
            event,
            all,
            looping,
            timeout,
            list,
            timestamp,
        } => {
            let args = EventArgs {
                domain,
                event,
                all,
                looping,
                timeout,
                list,
                timestamp,
            };
            events::event(conn, out, &args).await
        }
        Command::Screenshot {
            domain,
            file,
            screen,
        } => commands::screenshot(conn, out, &domain, file.as_deref(), screen).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn event_options_exclude_each_other_as_in_virsh() {
        let parse = |args: &[&str]| Cli::try_parse_from(["lvirt"].iter().chain(args));
        assert!(parse(&["event", "--all", "--event", "lifecycle"]).is_err());
        assert!(parse(&["event", "--list", "--all"]).is_err());
        assert!(parse(&["event", "--timeout", "0", "--all"]).is_err());
        assert!(parse(&[
            "event",
            "test",
            "--loop",
            "--timeout",
            "5",
            "--event",
            "lifecycle"
        ])
        .is_ok());
    }
}
