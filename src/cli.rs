//! The command-line interface: argument parsing and printing only; the work lives in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Profile-guided code placement and linking for Cortex-M7 i.MX RT microcontrollers.
#[derive(Parser)]
#[command(name = "hotlink", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Link like `arm-none-eabi-ld`: takes ld's command line (-o -T -L -l -Map= --gc-sections
    /// -e --defsym -u --start-group/--end-group --whole-archive --print-memory-usage), plus
    /// --json-map=FILE for the JSON link map.
    #[command(disable_help_flag = true)]
    Link {
        /// ld arguments, passed through unchanged.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
}

/// Parses the command line, runs the command and turns errors into a message and exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Link { args }) => run_link(args),
        None => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hotlink: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_link(args: Vec<String>) -> anyhow::Result<()> {
    let args = crate::link::args::LinkArgs::parse(args)?;
    let result = crate::link::link(&args)?;
    for w in &result.warnings {
        eprintln!("hotlink: warning: {w}");
    }
    if args.print_memory_usage {
        print!("{}", crate::link::memory_usage(&result.map));
    }
    Ok(())
}
