//! `hotlink boards`: list the built-in boards, or show one.

use anyhow::Result;
use clap::{Args, Subcommand};

use super::Format;
use crate::board::Board;

/// List the built-in boards, or show one in full.
///
/// Example: `hotlink boards show imxrt1062`, or `hotlink boards show ./myboard.toml` to check a
/// board file of your own (schema in docs/boards.md).
#[derive(Args)]
pub struct BoardsArgs {
    #[command(subcommand)]
    action: Option<BoardsAction>,
}

#[derive(Subcommand)]
enum BoardsAction {
    /// List the built-in boards (the default).
    List,
    /// Print one board: regions, FlexRAM split and the register values for it, caches, timing.
    Show {
        /// A built-in board name or the path of a board file.
        board: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub fn run(args: BoardsArgs) -> Result<()> {
    match args.action.unwrap_or(BoardsAction::List) {
        BoardsAction::List => {
            for name in Board::builtin_names() {
                let board = Board::builtin(name)?;
                println!("{:<10} {}", board.name, board.description);
            }
        }
        BoardsAction::Show { board, format } => {
            let board = Board::resolve(&board)?;
            match format {
                Format::Text => print!("{board}"),
                Format::Json => println!("{}", serde_json::to_string_pretty(&board)?),
            }
        }
    }
    Ok(())
}
