//! `hotlink link`: a drop-in for `arm-none-eabi-ld`.

use anyhow::Result;
use clap::Args;

/// Link like `arm-none-eabi-ld`: takes ld's command line (-o -T -L -l -Map= --gc-sections -e
/// --defsym -u --start-group/--end-group --whole-archive --print-memory-usage), plus
/// --json-map=FILE for the JSON link map.
///
/// Example: `hotlink link -T imxrt1062.ld -o fw.elf --gc-sections --json-map=fw.map.json
/// startup.o main.o -L/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard -lc -lgcc`.
#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct LinkArgs {
    /// ld arguments, passed through unchanged.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<String>,
}

/// What `hotlink link --help` prints (clap's own help is off so that ld's options pass through).
const USAGE: &str = "\
Usage: hotlink link [ld options] files...

Links Cortex-M ELF objects and archives like arm-none-eabi-ld, with the same command line:
  -o FILE  -T SCRIPT  -L DIR  -lNAME  -Map=FILE  --gc-sections  -e SYMBOL  --defsym SYM=EXPR
  -u SYMBOL  --start-group ... --end-group  --whole-archive  --print-memory-usage
and hotlink's own:
  --json-map=FILE   the JSON link map (docs/link-map-format.md)
  @FILE             read more arguments from FILE (a response file, as ld and gcc write)
  --plan=FILE       apply a placement plan (docs/plan-format.md): planned input sections go to
                    the output section that runs from their region (copied by the startup code)
  --place-into REGION=.SECTION
                    the output section that receives a plan region's sections
  --emit-ld=FILE    write the plan as a GNU ld / LLD fragment to INCLUDE in your script
  --ram-only=GLOB   input sections (besides .ramfunc*) that must never reach flash code/rodata
  --ram-only-check=warn|error|off
                    report RAM-only code that reaches flash (default: warn; error with --plan)
  --board=NAME      take the flash (XIP) regions from a board instead of MEMORY attributes
Options the gcc driver passes (-plugin, -plugin-opt=..., -X) are accepted; other unknown options
are warned about. Example:
  hotlink link -T imxrt1062.ld -o fw.elf --gc-sections --json-map=fw.map.json startup.o main.o \\
      -L/usr/lib/arm-none-eabi/newlib/thumb/v7e-m+dp/hard -lc -lgcc
";

pub fn run(args: LinkArgs) -> Result<()> {
    if args.args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    let args = crate::link::args::expand_response_files(args.args, std::path::Path::new("."))?;
    let args = crate::link::args::LinkArgs::parse(args)?;
    let result = crate::link::link(&args)?;
    for warning in &result.warnings {
        eprintln!("warning: {warning}");
    }
    for note in &result.notes {
        eprintln!("note: {note}");
    }
    if args.print_memory_usage {
        print!("{}", crate::link::memory_usage(&result.map));
    }
    Ok(())
}
