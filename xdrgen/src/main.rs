//! The `xdrgen` command line: `check`, `dump` and `generate` over `.x` files.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    cli::run(cli::Cli::parse())
}
