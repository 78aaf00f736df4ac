//! The ld command line, so that hotlink can stand in for `arm-none-eabi-ld` under the gcc driver.
//!
//! Parsed by hand rather than with clap: ld's syntax (position-dependent inputs and group markers,
//! `-lfoo`/`-Lpath` glued arguments, both `-Map=F` and `-Map F`, single- and double-dash long
//! options) is not something a derive parser expresses.

use std::path::PathBuf;

/// One positional item, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    /// `-lNAME` (`lib NAME .a` searched in -L dirs) or `-l:FILE`.
    Library(String),
    StartGroup,
    EndGroup,
    WholeArchive(bool),
    /// `-Bstatic`/`-static` (true) and `-Bdynamic` (false): no shared libraries here, but GNU ld
    /// then checks every archive's first member, which its veneer order depends on.
    Static(bool),
}

#[derive(Debug, Clone, Default)]
pub struct LinkArgs {
    pub output: Option<PathBuf>,
    pub scripts: Vec<PathBuf>,
    pub search_dirs: Vec<PathBuf>,
    pub inputs: Vec<Input>,
    pub map: Option<PathBuf>,
    pub json_map: Option<PathBuf>,
    pub gc_sections: bool,
    pub entry: Option<String>,
    pub defsyms: Vec<(String, String)>,
    pub undefined: Vec<String>,
    pub nostdlib: bool,
    pub print_memory_usage: bool,
    /// `--plan FILE`: a placement plan to apply (docs/plan-format.md).
    pub plan: Option<PathBuf>,
    /// `--place-into REGION=.outsec`: the output section that receives a plan region's sections.
    pub place_into: Vec<(String, String)>,
    /// `--emit-ld FILE`: write the plan as a GNU ld / LLD fragment.
    pub emit_ld: Option<PathBuf>,
    /// `--ram-only PATTERN`: input sections (name globs) that must not reach flash, besides the
    /// `.ramfunc*` roots.
    pub ram_only: Vec<String>,
    /// `--ram-only-check=warn|error|off`; None means the default (warn, error with a plan).
    pub ram_only_check: Option<Severity>,
    /// `--board NAME|FILE`: take flash (XIP) regions from the board instead of the script's
    /// MEMORY attributes.
    pub board: Option<String>,
    /// `-z muldefs` / `--allow-multiple-definition`: the first definition of a symbol wins.
    pub allow_multiple_definition: bool,
    /// `--no-merge-exidx-entries`: keep every `.ARM.exidx` entry.
    pub no_merge_exidx_entries: bool,
    /// Options accepted but without effect here, to be reported as warnings.
    pub ignored: Vec<String>,
    /// The directory [`LinkArgs::rebase`] made relative paths relative to: a script's `INCLUDE`
    /// looks there first, as GNU ld looks in the current directory of the link.
    pub base_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    #[error("option `{0}` needs an argument")]
    MissingValue(String),
    #[error("--defsym `{0}`: expected SYMBOL=EXPRESSION")]
    BadDefsym(String),
    #[error("unbalanced --start-group/--end-group")]
    UnbalancedGroup,
    #[error("--place-into `{0}`: expected REGION=.OUTPUT_SECTION (e.g. --place-into ITCM=.itcm)")]
    BadPlaceInto(String),
    #[error("--ram-only-check `{0}`: expected warn, error or off")]
    BadSeverity(String),
}

/// How a check's findings are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Off,
    Warn,
    Error,
}

/// Options that take a value and have no effect on a static Cortex-M link.
const IGNORED_WITH_VALUE: &[&str] = &[
    "-plugin",
    "-plugin-opt",
    "-m",
    "-sysroot",
    "-a",
    "-hash-style",
    "-build-id",
    "-soname",
    "-dynamic-linker",
    "-rpath",
    "-y",
];

/// `-z` keywords that only concern dynamic linking or stack marking, without effect on a static
/// Cortex-M image (rustc and gcc drivers pass some of them).
const QUIET_Z: &[&str] = &[
    "noexecstack",
    "execstack",
    "relro",
    "norelro",
    "now",
    "lazy",
    "nognustack",
    "text",
    "notext",
];

/// Flags with no effect here that are silently accepted (the gcc driver passes them).
const QUIET_FLAGS: &[&str] = &[
    "-X",
    "-EL",
    "-eh-frame-hdr",
    "-no-eh-frame-hdr",
    "-no-as-needed",
    "-as-needed",
    "-nostartfiles",
    "-no-undefined",
];

impl LinkArgs {
    /// Makes every relative path (inputs, scripts, search directories, outputs, plan) relative to
    /// `dir` instead of the current directory, so a link line recorded in one directory can run
    /// from anywhere.
    pub fn rebase(&mut self, dir: &std::path::Path) {
        self.base_dir = Some(dir.to_path_buf());
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        for input in &mut self.inputs {
            if let Input::File(path) = input {
                join(path);
            }
        }
        self.search_dirs.iter_mut().for_each(join);
        // GNU ld looks for a `-T` script in the current directory, then in the `-L` directories
        // (rustc passes `-Tlink.x` with `-L <dir holding it>`): a script not in `dir` is taken
        // from the first search directory that has it.
        let search_dirs = &self.search_dirs;
        for script in &mut self.scripts {
            if script.is_relative() && !dir.join(&*script).is_file() {
                if let Some(found) = search_dirs
                    .iter()
                    .map(|d| d.join(&*script))
                    .find(|p| p.is_file())
                {
                    *script = found;
                    continue;
                }
            }
            join(script);
        }
        for path in [
            &mut self.output,
            &mut self.map,
            &mut self.json_map,
            &mut self.plan,
            &mut self.emit_ld,
        ]
        .into_iter()
        .flatten()
        {
            join(path);
        }
    }

    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<LinkArgs, ArgsError> {
        let mut out = LinkArgs::default();
        let mut args = args.into_iter();
        let mut depth = 0i32;
        while let Some(arg) = args.next() {
            // Long options may start with one or two dashes; normalise `--x=v` / `-x=v` / `-x v`.
            let value =
                |name: &str, arg: &str, args: &mut I::IntoIter| -> Result<String, ArgsError> {
                    if let Some(v) = arg.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                        return Ok(v.to_string());
                    }
                    args.next()
                        .ok_or_else(|| ArgsError::MissingValue(name.to_string()))
                };
            let long = arg.strip_prefix("--").map(|s| format!("-{s}"));
            let a = long.as_deref().unwrap_or(&arg);
            let key = a.split('=').next().unwrap_or(a);
            match key {
                "-o" | "-output" => out.output = Some(value(key, a, &mut args)?.into()),
                "-T" | "-script" => out.scripts.push(value(key, a, &mut args)?.into()),
                "-Map" => out.map = Some(value(key, a, &mut args)?.into()),
                "-json-map" => out.json_map = Some(value(key, a, &mut args)?.into()),
                "-L" | "-library-path" => out.search_dirs.push(value(key, a, &mut args)?.into()),
                "-e" | "-entry" => out.entry = Some(value(key, a, &mut args)?),
                "-u" | "-undefined" => out.undefined.push(value(key, a, &mut args)?),
                "-defsym" => {
                    let v = value(key, a, &mut args)?;
                    let (sym, expr) = v
                        .split_once('=')
                        .ok_or_else(|| ArgsError::BadDefsym(v.clone()))?;
                    if sym.trim().is_empty() {
                        return Err(ArgsError::BadDefsym(v));
                    }
                    out.defsyms.push((sym.trim().to_string(), expr.to_string()));
                }
                "-l" | "-library" => out.inputs.push(Input::Library(value(key, a, &mut args)?)),
                "-gc-sections" => out.gc_sections = true,
                "-no-gc-sections" => out.gc_sections = false,
                "-nostdlib" => out.nostdlib = true,
                "-print-memory-usage" => out.print_memory_usage = true,
                "-plan" => out.plan = Some(value(key, a, &mut args)?.into()),
                "-emit-ld" => out.emit_ld = Some(value(key, a, &mut args)?.into()),
                "-board" => out.board = Some(value(key, a, &mut args)?),
                "-ram-only" => out.ram_only.push(value(key, a, &mut args)?),
                "-ram-only-check" => {
                    let v = value(key, a, &mut args)?;
                    out.ram_only_check = Some(match v.as_str() {
                        "warn" => Severity::Warn,
                        "error" => Severity::Error,
                        "off" => Severity::Off,
                        _ => return Err(ArgsError::BadSeverity(v)),
                    });
                }
                "-place-into" => {
                    let v = value(key, a, &mut args)?;
                    match v.split_once('=') {
                        Some((region, sec)) if !region.is_empty() && !sec.is_empty() => {
                            out.place_into.push((region.to_string(), sec.to_string()))
                        }
                        _ => return Err(ArgsError::BadPlaceInto(v)),
                    }
                }
                "-start-group" | "-(" => {
                    depth += 1;
                    out.inputs.push(Input::StartGroup)
                }
                "-end-group" | "-)" => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(ArgsError::UnbalancedGroup);
                    }
                    out.inputs.push(Input::EndGroup)
                }
                "-allow-multiple-definition" => out.allow_multiple_definition = true,
                "-no-merge-exidx-entries" => out.no_merge_exidx_entries = true,
                "-merge-exidx-entries" => out.no_merge_exidx_entries = false,
                "-z" => {
                    let v = value(key, a, &mut args)?;
                    if v == "muldefs" {
                        out.allow_multiple_definition = true;
                    } else if !QUIET_Z.contains(&v.as_str()) {
                        out.ignored.push(format!("-z {v}"));
                    }
                }
                "-whole-archive" => out.inputs.push(Input::WholeArchive(true)),
                "-no-whole-archive" => out.inputs.push(Input::WholeArchive(false)),
                "-static" | "-Bstatic" => out.inputs.push(Input::Static(true)),
                "-Bdynamic" => out.inputs.push(Input::Static(false)),
                k if QUIET_FLAGS.contains(&k) => {}
                k if IGNORED_WITH_VALUE.contains(&k) => {
                    let v = value(key, a, &mut args)?;
                    if k != "-plugin" && k != "-sysroot" && k != "-plugin-opt" {
                        out.ignored.push(format!("{k} {v}"));
                    }
                }
                _ if arg.starts_with("-T") && arg.len() > 2 => out.scripts.push(arg[2..].into()),
                _ if arg.starts_with("-L") && arg.len() > 2 => {
                    out.search_dirs.push(arg[2..].into())
                }
                _ if arg.starts_with("-l") && arg.len() > 2 => {
                    out.inputs.push(Input::Library(arg[2..].to_string()))
                }
                _ if arg.starts_with("-o") && arg.len() > 2 && !arg.starts_with("--") => {
                    out.output = Some(arg[2..].into())
                }
                _ if arg.starts_with("-e") && arg.len() > 2 && !arg.starts_with("--") => {
                    out.entry = Some(arg[2..].to_string())
                }
                _ if arg.starts_with("-u") && arg.len() > 2 && !arg.starts_with("--") => {
                    out.undefined.push(arg[2..].to_string())
                }
                _ if arg.starts_with('-') && arg.len() > 1 => out.ignored.push(arg.clone()),
                _ => out.inputs.push(Input::File(arg.into())),
            }
        }
        if depth != 0 {
            return Err(ArgsError::UnbalancedGroup);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> LinkArgs {
        LinkArgs::parse(s.split_whitespace().map(String::from)).unwrap()
    }

    #[test]
    fn rebased_scripts_are_found_in_the_search_directories_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/link.x"), "").unwrap();
        std::fs::write(dir.path().join("memory.x"), "").unwrap();
        let mut a = parse("-Tlink.x -Tmemory.x -Tmissing.x -L out main.o");
        a.rebase(dir.path());
        assert_eq!(
            a.scripts,
            vec![
                dir.path().join("out/link.x"),
                dir.path().join("memory.x"),
                dir.path().join("missing.x")
            ]
        );
    }

    #[test]
    fn ld_style_options() {
        let a = parse(
            "-o out.elf -T a.ld -Tb.ld --script=c.ld -L dir1 -Ldir2 --library-path=dir3 -Map=out.map \
             --gc-sections -e Reset --defsym=__x=0x10 --defsym y=1+2 -u keepme --undefined=k2 \
             -nostdlib --print-memory-usage main.o --start-group -lc -lgcc --end-group \
             --whole-archive w.a --no-whole-archive -l:exact.a",
        );
        assert_eq!(a.output, Some("out.elf".into()));
        assert_eq!(
            a.scripts,
            vec![PathBuf::from("a.ld"), "b.ld".into(), "c.ld".into()]
        );
        assert_eq!(a.search_dirs.len(), 3);
        assert_eq!(a.map, Some("out.map".into()));
        assert!(a.gc_sections && a.nostdlib && a.print_memory_usage);
        assert_eq!(a.entry.as_deref(), Some("Reset"));
        assert_eq!(
            a.defsyms,
            vec![("__x".into(), "0x10".into()), ("y".into(), "1+2".into())]
        );
        assert_eq!(a.undefined, vec!["keepme", "k2"]);
        assert_eq!(
            a.inputs,
            vec![
                Input::File("main.o".into()),
                Input::StartGroup,
                Input::Library("c".into()),
                Input::Library("gcc".into()),
                Input::EndGroup,
                Input::WholeArchive(true),
                Input::File("w.a".into()),
                Input::WholeArchive(false),
                Input::Library(":exact.a".into()),
            ]
        );
        assert!(a.ignored.is_empty(), "{:?}", a.ignored);
    }

    #[test]
    fn gcc_driver_options_are_accepted() {
        let a = parse(
            "-plugin /usr/lib/liblto_plugin.so -plugin-opt=/usr/lib/lto-wrapper \
             -plugin-opt=-fresolution=/tmp/x.res -plugin-opt=-pass-through=-lgcc \
             --sysroot=/usr -X -EL -o a.out x.o --frobnicate -z max-page-size=4096",
        );
        assert_eq!(a.inputs, vec![Input::File("x.o".into())]);
        assert_eq!(a.ignored, vec!["--frobnicate", "-z max-page-size=4096"]);
        assert!(!a.allow_multiple_definition);
    }

    #[test]
    fn muldefs_and_harmless_dynamic_options() {
        for line in [
            "-z muldefs x.o",
            "--allow-multiple-definition x.o",
            "-z=muldefs x.o",
        ] {
            assert!(parse(line).allow_multiple_definition, "{line}");
        }
        let a = parse("-Bdynamic --eh-frame-hdr -z noexecstack -z relro x.o");
        assert!(a.ignored.is_empty(), "{:?}", a.ignored);
        assert_eq!(a.inputs[0], Input::Static(false));
        assert!(!a.allow_multiple_definition);
    }

    #[test]
    fn errors() {
        let e = |s: &str| {
            LinkArgs::parse(s.split_whitespace().map(String::from))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(e("-o"), "option `-o` needs an argument");
        assert_eq!(
            e("--defsym novalue"),
            "--defsym `novalue`: expected SYMBOL=EXPRESSION"
        );
        assert_eq!(
            e("--start-group a.o"),
            "unbalanced --start-group/--end-group"
        );
        assert_eq!(e("--end-group"), "unbalanced --start-group/--end-group");
        assert!(e("--place-into ITCM").contains("expected REGION=.OUTPUT_SECTION"));
        assert!(e("--ram-only-check=loud").contains("expected warn, error or off"));
    }

    #[test]
    fn placement_options() {
        let a = parse(
            "--plan=p.json --place-into ITCM=.itcm --place-into=OCRAM2=.ocram --emit-ld out.ld \
             --ram-only .text.isr_* --ram-only-check=error --board imxrt1062 x.o",
        );
        assert_eq!(a.plan, Some("p.json".into()));
        assert_eq!(
            a.place_into,
            vec![
                ("ITCM".to_string(), ".itcm".to_string()),
                ("OCRAM2".to_string(), ".ocram".to_string())
            ]
        );
        assert_eq!(a.emit_ld, Some("out.ld".into()));
        assert_eq!(a.ram_only, vec![".text.isr_*"]);
        assert_eq!(a.ram_only_check, Some(Severity::Error));
        assert_eq!(a.board.as_deref(), Some("imxrt1062"));
        assert_eq!(parse("-plan q.json").plan, Some("q.json".into()));
    }
}

/// Expands `@FILE` arguments (GNU response files: arguments separated by white space, with
/// single or double quotes and backslash escapes) relative to `dir`, recursively.
pub fn expand_response_files(
    args: Vec<String>,
    dir: &std::path::Path,
) -> Result<Vec<String>, std::io::Error> {
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        match arg.strip_prefix('@') {
            Some(file) => {
                let path = dir.join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("response file {}: {e}", path.display()))
                })?;
                out.extend(expand_response_files(split_response(&text), dir)?);
            }
            None => out.push(arg),
        }
    }
    Ok(out)
}

fn split_response(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                    in_word = true;
                }
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod response_tests {
    use super::*;

    #[test]
    fn response_files_split_like_gnu() {
        assert_eq!(
            split_response("-T a.ld\n'-o' \"b c.elf\"  x\\ y.o\n"),
            vec!["-T", "a.ld", "-o", "b c.elf", "x y.o"]
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.link"), "--gc-sections\n@more.link\n").unwrap();
        std::fs::write(dir.path().join("more.link"), "main.o").unwrap();
        let args =
            expand_response_files(vec!["@in.link".into(), "-lc".into()], dir.path()).unwrap();
        assert_eq!(args, vec!["--gc-sections", "main.o", "-lc"]);
        assert!(expand_response_files(vec!["@missing".into()], dir.path()).is_err());
    }
}
