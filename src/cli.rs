//! The command-line interface: argument parsing and printing only; the work lives in the library.

use std::process::ExitCode;

use clap::Parser;

/// Profile-guided code placement and linking for Cortex-M7 i.MX RT microcontrollers.
#[derive(Parser)]
#[command(name = "hotlink", version, about)]
struct Cli {}

/// Parses the command line, runs the command and turns errors into a message and exit code.
pub fn main() -> ExitCode {
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}
