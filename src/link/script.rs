//! GNU ld linker scripts: lexer, recursive-descent parser and expression evaluator.
//!
//! Written by hand because no crate parses GNU ld's script language. The subset is what embedded
//! projects use (MEMORY, REGION_ALIAS, ENTRY, INCLUDE, SEARCH_DIR, SECTIONS with addresses, types,
//! AT/ALIGN/regions/fill, input section descriptions, assignments, the full expression language).
//!
//! Like GNU ld, the lexer has two modes: in *name* mode (section and file patterns) characters such
//! as `*`, `-`, `/` and `:` belong to names; in *expression* mode they are operators. The parser asks
//! for the mode it needs at each point. `INCLUDE` is spliced in at statement boundaries (top level,
//! MEMORY, SECTIONS and output section contents), which is where GNU ld allows it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc as Rc;

/// Where something was written in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub file: Rc<str>,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A syntax or evaluation error with its location and the offending text.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{loc}: {msg}{}", if text.is_empty() { String::new() } else { format!(" (at `{text}`)") })]
pub struct ScriptError {
    pub loc: Loc,
    pub msg: String,
    pub text: String,
}

/// A parsed linker script: top-level commands in source order.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub commands: Vec<Command>,
}

#[derive(Debug, Clone)]
pub enum Command {
    Entry(String),
    Memory(Vec<MemoryRegion>),
    RegionAlias {
        alias: String,
        region: String,
    },
    SearchDir(String),
    /// `EXTERN(sym ...)`: like `-u`.
    Extern(Vec<String>),
    Assign(Assignment),
    Assert(Assert),
    Sections(Vec<SectionsItem>),
}

#[derive(Debug, Clone)]
pub struct MemoryRegion {
    pub name: String,
    pub attrs: String,
    pub origin: Expr,
    pub length: Expr,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
    Sub,
    Mul,
    Div,
    Shl,
    Shr,
    And,
    Or,
}

impl AssignOp {
    /// `old op rhs` (`old` is ignored by `=`); `None` for a division by zero.
    pub fn apply(self, old: u64, rhs: u64) -> Option<u64> {
        Some(match self {
            AssignOp::Set => rhs,
            AssignOp::Add => old.wrapping_add(rhs),
            AssignOp::Sub => old.wrapping_sub(rhs),
            AssignOp::Mul => old.wrapping_mul(rhs),
            AssignOp::Div => old.checked_div(rhs)?,
            AssignOp::Shl => old.checked_shl(rhs as u32).unwrap_or(0),
            AssignOp::Shr => old.checked_shr(rhs as u32).unwrap_or(0),
            AssignOp::And => old & rhs,
            AssignOp::Or => old | rhs,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Plain,
    Hidden,
    Provide,
    ProvideHidden,
}

/// `sym op expr;`, possibly wrapped in PROVIDE/PROVIDE_HIDDEN/HIDDEN. `target` is "." for dot.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub target: String,
    pub op: AssignOp,
    pub expr: Expr,
    pub vis: Visibility,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct Assert {
    pub expr: Expr,
    pub msg: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum SectionsItem {
    Assign(Assignment),
    Assert(Assert),
    Output(Box<OutputSection>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputType {
    Normal,
    NoLoad,
}

#[derive(Debug, Clone)]
pub struct OutputSection {
    pub name: String,
    pub addr: Option<Expr>,
    pub kind: OutputType,
    pub lma: Option<Expr>,
    pub align: Option<Expr>,
    pub subalign: Option<Expr>,
    pub region: Option<String>,
    pub lma_region: Option<String>,
    pub fill: Option<Expr>,
    pub items: Vec<OutputItem>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum OutputItem {
    Assign(Assignment),
    Assert(Assert),
    Input(InputSpec),
    /// BYTE/SHORT/LONG/QUAD: `size` bytes holding `expr`.
    Data {
        size: u8,
        expr: Expr,
    },
    Fill(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    None,
    Name,
    Alignment,
    /// SORT_BY_NAME(SORT_BY_ALIGNMENT(..)) and friends: first key, then second.
    NameThenAlignment,
    AlignmentThenName,
}

/// One section pattern inside an input section description.
#[derive(Debug, Clone)]
pub struct SectionPattern {
    pub pattern: String,
    pub exclude_files: Vec<String>,
    pub sort: SortKind,
}

/// `[KEEP(] [EXCLUDE_FILE(..)] filepattern(sectionpatterns) [)]`.
#[derive(Debug, Clone)]
pub struct InputSpec {
    pub keep: bool,
    /// File glob; may be `archive:member` (either side may be empty or a glob).
    pub file: String,
    pub exclude_files: Vec<String>,
    /// Empty means every section of matching files.
    pub sections: Vec<SectionPattern>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Mul,
    Div,
    Rem,
    Add,
    Sub,
    Shl,
    Shr,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    BitAnd,
    BitXor,
    BitOr,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Align,
    AlignOf,
    Addr,
    LoadAddr,
    SizeOf,
    Origin,
    Length,
    Defined,
    Min,
    Max,
    Absolute,
    Assert,
    Log2Ceil,
    Constant,
    SizeOfHeaders,
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Num(u64),
    Dot,
    Sym(String),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// Name arguments (sections, regions, symbols) are kept as `Sym`.
    Call(Func, Vec<Expr>),
    /// The message of ASSERT(expr, "msg") used as an expression.
    Str(String),
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub loc: Loc,
}

impl Expr {
    pub fn num(value: u64, loc: Loc) -> Expr {
        Expr {
            kind: ExprKind::Num(value),
            loc,
        }
    }
}

/// What evaluating an expression needs from the linker.
pub trait EvalContext {
    fn dot(&self) -> Result<u64, String>;
    fn symbol(&self, name: &str) -> Result<u64, String>;
    fn defined(&self, name: &str) -> bool;
    fn section_addr(&self, name: &str) -> Result<u64, String>;
    fn section_load_addr(&self, name: &str) -> Result<u64, String>;
    fn section_size(&self, name: &str) -> Result<u64, String>;
    fn section_align(&self, name: &str) -> Result<u64, String>;
    fn region_origin(&self, name: &str) -> Result<u64, String>;
    fn region_length(&self, name: &str) -> Result<u64, String>;
}

impl Expr {
    /// Evaluates with GNU ld's unsigned 64-bit arithmetic.
    pub fn eval(&self, cx: &dyn EvalContext) -> Result<u64, ScriptError> {
        self.eval_inner(cx).map_err(|msg| ScriptError {
            loc: self.loc.clone(),
            msg,
            text: String::new(),
        })
    }

    fn eval_inner(&self, cx: &dyn EvalContext) -> Result<u64, String> {
        Ok(match &self.kind {
            ExprKind::Num(n) => *n,
            ExprKind::Dot => cx.dot()?,
            ExprKind::Sym(s) => cx.symbol(s)?,
            ExprKind::Str(s) => return Err(format!("string \"{s}\" used as a value")),
            ExprKind::Unary(op, e) => {
                let v = e.eval_inner(cx)?;
                match op {
                    UnOp::Neg => v.wrapping_neg(),
                    UnOp::Not => (v == 0) as u64,
                    UnOp::BitNot => !v,
                }
            }
            ExprKind::Binary(op, a, b) => {
                let a = a.eval_inner(cx)?;
                // && and || short-circuit like C.
                match op {
                    BinOp::And if a == 0 => return Ok(0),
                    BinOp::Or if a != 0 => return Ok(1),
                    _ => {}
                }
                let b = b.eval_inner(cx)?;
                match op {
                    BinOp::Mul => a.wrapping_mul(b),
                    BinOp::Div => a.checked_div(b).ok_or("division by zero")?,
                    BinOp::Rem => a.checked_rem(b).ok_or("modulo by zero")?,
                    BinOp::Add => a.wrapping_add(b),
                    BinOp::Sub => a.wrapping_sub(b),
                    BinOp::Shl => a.checked_shl(b as u32).unwrap_or(0),
                    BinOp::Shr => a.checked_shr(b as u32).unwrap_or(0),
                    BinOp::Lt => (a < b) as u64,
                    BinOp::Le => (a <= b) as u64,
                    BinOp::Gt => (a > b) as u64,
                    BinOp::Ge => (a >= b) as u64,
                    BinOp::Eq => (a == b) as u64,
                    BinOp::Ne => (a != b) as u64,
                    BinOp::BitAnd => a & b,
                    BinOp::BitXor => a ^ b,
                    BinOp::BitOr => a | b,
                    BinOp::And | BinOp::Or => (b != 0) as u64,
                }
            }
            ExprKind::Cond(c, t, e) => {
                if c.eval_inner(cx)? != 0 {
                    t.eval_inner(cx)?
                } else {
                    e.eval_inner(cx)?
                }
            }
            ExprKind::Call(func, args) => eval_call(*func, args, cx)?,
        })
    }

    /// The bare name of an argument like `.text` in `ADDR(.text)`.
    fn name_arg(&self) -> Result<&str, String> {
        match &self.kind {
            ExprKind::Sym(s) => Ok(s),
            _ => Err("expected a name".into()),
        }
    }
}

fn align_up(value: u64, align: u64) -> Result<u64, String> {
    if align == 0 {
        return Ok(value);
    }
    if !align.is_power_of_two() {
        return Err(format!("alignment {align:#x} is not a power of two"));
    }
    Ok(value.wrapping_add(align - 1) & !(align - 1))
}

fn eval_call(func: Func, args: &[Expr], cx: &dyn EvalContext) -> Result<u64, String> {
    let arg = |i: usize| args[i].eval_inner(cx);
    Ok(match func {
        Func::Align if args.len() == 1 => align_up(cx.dot()?, arg(0)?)?,
        Func::Align => align_up(arg(0)?, arg(1)?)?,
        Func::AlignOf => cx.section_align(args[0].name_arg()?)?,
        Func::Addr => cx.section_addr(args[0].name_arg()?)?,
        Func::LoadAddr => cx.section_load_addr(args[0].name_arg()?)?,
        Func::SizeOf => cx.section_size(args[0].name_arg()?)?,
        Func::Origin => cx.region_origin(args[0].name_arg()?)?,
        Func::Length => cx.region_length(args[0].name_arg()?)?,
        Func::Defined => cx.defined(args[0].name_arg()?) as u64,
        Func::Min => arg(0)?.min(arg(1)?),
        Func::Max => arg(0)?.max(arg(1)?),
        Func::Absolute => arg(0)?,
        Func::Assert => {
            let v = arg(0)?;
            if v == 0 {
                let msg = match &args[1].kind {
                    ExprKind::Str(s) => s.clone(),
                    _ => String::new(),
                };
                return Err(format!("assertion failed: {msg}"));
            }
            v
        }
        Func::Log2Ceil => {
            let v = arg(0)?;
            if v <= 1 {
                0
            } else {
                64 - u64::from((v - 1).leading_zeros())
            }
        }
        Func::Constant => match args[0].name_arg()? {
            "MAXPAGESIZE" => 0x10000,
            "COMMONPAGESIZE" => 0x1000,
            other => return Err(format!("unknown CONSTANT({other})")),
        },
        Func::SizeOfHeaders => 0,
    })
}

impl Func {
    fn from_name(name: &str) -> Option<(Func, usize, usize)> {
        Some(match name {
            "ALIGN" | "NEXT" => (Func::Align, 1, 2),
            "ALIGNOF" => (Func::AlignOf, 1, 1),
            "ADDR" => (Func::Addr, 1, 1),
            "LOADADDR" => (Func::LoadAddr, 1, 1),
            "SIZEOF" => (Func::SizeOf, 1, 1),
            "ORIGIN" => (Func::Origin, 1, 1),
            "LENGTH" => (Func::Length, 1, 1),
            "DEFINED" => (Func::Defined, 1, 1),
            "MIN" => (Func::Min, 2, 2),
            "MAX" => (Func::Max, 2, 2),
            "ABSOLUTE" => (Func::Absolute, 1, 1),
            "ASSERT" => (Func::Assert, 2, 2),
            "LOG2CEIL" => (Func::Log2Ceil, 1, 1),
            "CONSTANT" => (Func::Constant, 1, 1),
            "SIZEOF_HEADERS" => (Func::SizeOfHeaders, 0, 0),
            _ => return None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Num(u64),
    Str(String),
    Punct(&'static str),
    Eof,
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Name(s) => s.clone(),
            Tok::Num(n) => format!("{n:#x}"),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Punct(p) => (*p).to_string(),
            Tok::Eof => "end of file".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Expr,
    /// Section/file names; `colon` says whether `:` belongs to names (archive:member patterns).
    Name {
        colon: bool,
    },
}

const PUNCTS: &[&str] = &[
    "<<=", ">>=", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=", "*=", "/=", "&=",
    "|=", "+", "-", "*", "/", "%", "&", "|", "^", "!", "~", "?", ":", ";", ",", "(", ")", "{", "}",
    "=", "<", ">",
];

struct Source {
    file: Rc<str>,
    text: Rc<str>,
    pos: usize,
    line: u32,
    col: u32,
}

#[derive(Clone, Copy)]
struct State {
    pos: usize,
    line: u32,
    col: u32,
}

impl Source {
    fn state(&self) -> State {
        State {
            pos: self.pos,
            line: self.line,
            col: self.col,
        }
    }
    fn restore(&mut self, s: State) {
        self.pos = s.pos;
        self.line = s.line;
        self.col = s.col;
    }
    fn peek_char(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }
    fn peek_char2(&self) -> Option<char> {
        self.text[self.pos..].chars().nth(1)
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
    fn loc(&self) -> Loc {
        Loc {
            file: self.file.clone(),
            line: self.line,
            col: self.col,
        }
    }
    fn error(&self, msg: impl Into<String>, text: impl Into<String>) -> ScriptError {
        ScriptError {
            loc: self.loc(),
            msg: msg.into(),
            text: text.into(),
        }
    }

    fn skip_space(&mut self) -> Result<(), ScriptError> {
        loop {
            match self.peek_char() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek_char2() == Some('*') => {
                    let start = self.loc();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('*') if self.peek_char() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                            None => {
                                return Err(ScriptError {
                                    loc: start,
                                    msg: "unterminated comment".into(),
                                    text: "/*".into(),
                                })
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Lexes one token; returns it with the location where it starts.
    fn lex(&mut self, mode: Mode) -> Result<(Tok, Loc), ScriptError> {
        self.skip_space()?;
        let loc = self.loc();
        let Some(c) = self.peek_char() else {
            return Ok((Tok::Eof, loc));
        };
        if c == '"' {
            self.bump();
            let mut s = String::new();
            loop {
                match self.bump() {
                    Some('"') => return Ok((Tok::Str(s), loc)),
                    Some(c) => s.push(c),
                    None => {
                        return Err(ScriptError {
                            loc,
                            msg: "unterminated string".into(),
                            text: format!("\"{s}"),
                        })
                    }
                }
            }
        }
        if let Mode::Name { colon } = mode {
            if is_name_char(c, colon) && !self.is_compound_assign_start() {
                let mut s = String::new();
                while let Some(c) = self.peek_char() {
                    if !is_name_char(c, colon) || self.is_compound_assign_start() {
                        break;
                    }
                    s.push(c);
                    self.bump();
                }
                return Ok((Tok::Name(s), loc));
            }
        }
        if c.is_ascii_digit() {
            return self.lex_number(loc);
        }
        if c.is_ascii_alphabetic() || c == '_' || c == '.' || c == '$' {
            let mut s = String::new();
            while let Some(c) = self.peek_char() {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '$' {
                    s.push(c);
                    self.bump();
                } else {
                    break;
                }
            }
            return Ok((Tok::Name(s), loc));
        }
        let rest = &self.text[self.pos..];
        for p in PUNCTS {
            if rest.starts_with(p) {
                for _ in 0..p.len() {
                    self.bump();
                }
                return Ok((Tok::Punct(p), loc));
            }
        }
        Err(self.error("unexpected character", c.to_string()))
    }

    /// In name mode, `x+=1` must lex as `x` `+=`: an operator character followed by `=` ends a name.
    fn is_compound_assign_start(&self) -> bool {
        matches!(self.peek_char(), Some('+' | '-' | '*' | '/')) && self.peek_char2() == Some('=')
    }

    fn lex_number(&mut self, loc: Loc) -> Result<(Tok, Loc), ScriptError> {
        let mut s = String::new();
        while let Some(c) = self.peek_char() {
            if c.is_ascii_alphanumeric() {
                s.push(c);
                self.bump();
            } else {
                break;
            }
        }
        let bad = || ScriptError {
            loc: loc.clone(),
            msg: "invalid number".into(),
            text: s.clone(),
        };
        let (digits, mult) = match s.as_bytes().last() {
            Some(b'K' | b'k') if !is_hex_prefixed(&s) || s.len() > 2 => (&s[..s.len() - 1], 1024),
            Some(b'M' | b'm') => (&s[..s.len() - 1], 1024 * 1024),
            _ => (&s[..], 1),
        };
        let value = if let Some(hex) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            u64::from_str_radix(hex, 16).map_err(|_| bad())?
        } else if let Some(hex) = digits.strip_suffix(['h', 'H']) {
            u64::from_str_radix(hex, 16).map_err(|_| bad())?
        } else {
            digits.parse::<u64>().map_err(|_| bad())?
        };
        let value = value.checked_mul(mult).ok_or_else(bad)?;
        Ok((Tok::Num(value), loc))
    }
}

fn is_hex_prefixed(s: &str) -> bool {
    s.starts_with("0x") || s.starts_with("0X")
}

fn is_name_char(c: char, colon: bool) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '_' | '.' | '/' | '\\' | '$' | '~' | '-' | '+' | '*' | '?' | '[' | ']' | '^' | '!'
        )
        || (colon && c == ':')
}

// ---------------------------------------------------------------------------------------------
// Parser

/// Finds the file an `INCLUDE` names: returns its path and text.
pub type IncludeResolver<'a> =
    dyn FnMut(&str, &[PathBuf]) -> Result<(PathBuf, String), String> + 'a;

struct Parser<'a> {
    sources: Vec<Source>,
    search_dirs: Vec<PathBuf>,
    resolve_include: &'a mut IncludeResolver<'a>,
}

/// Parses a script. `search_dirs` (from `-L` and `SEARCH_DIR`) are passed to the include resolver.
pub fn parse(
    file: &str,
    text: &str,
    search_dirs: &[PathBuf],
    resolve_include: &mut IncludeResolver<'_>,
) -> Result<Script, ScriptError> {
    let mut parser = Parser {
        sources: vec![Source {
            file: file.into(),
            text: text.into(),
            pos: 0,
            line: 1,
            col: 1,
        }],
        search_dirs: search_dirs.to_vec(),
        resolve_include,
    };
    parser.script()
}

/// Parses a script that may not INCLUDE other files (tests, `--defsym` values).
pub fn parse_str(file: &str, text: &str) -> Result<Script, ScriptError> {
    parse(file, text, &[], &mut |name, _| {
        Err(format!("cannot include `{name}` here"))
    })
}

/// Parses a single expression (used for `--defsym sym=expr`).
pub fn parse_expr(file: &str, text: &str) -> Result<Expr, ScriptError> {
    let mut resolver = |name: &str, _: &[PathBuf]| Err(format!("cannot include `{name}` here"));
    let mut parser = Parser {
        sources: vec![Source {
            file: file.into(),
            text: text.into(),
            pos: 0,
            line: 1,
            col: 1,
        }],
        search_dirs: Vec::new(),
        resolve_include: &mut resolver,
    };
    let e = parser.expr()?;
    parser.expect_eof()?;
    Ok(e)
}

impl Parser<'_> {
    fn src(&mut self) -> &mut Source {
        self.sources.last_mut().expect("parser always has a source")
    }

    fn peek(&mut self, mode: Mode) -> Result<Tok, ScriptError> {
        let state = self.src().state();
        let tok = self.src().lex(mode);
        self.src().restore(state);
        Ok(tok?.0)
    }

    fn next(&mut self, mode: Mode) -> Result<(Tok, Loc), ScriptError> {
        self.src().lex(mode)
    }

    fn error_at(&self, loc: Loc, msg: impl Into<String>, tok: &Tok) -> ScriptError {
        ScriptError {
            loc,
            msg: msg.into(),
            text: tok.text(),
        }
    }

    fn expect(&mut self, p: &'static str, mode: Mode) -> Result<Loc, ScriptError> {
        let (tok, loc) = self.next(mode)?;
        if tok == Tok::Punct(p) {
            Ok(loc)
        } else {
            Err(self.error_at(loc, format!("expected `{p}`"), &tok))
        }
    }

    fn eat(&mut self, p: &'static str, mode: Mode) -> Result<bool, ScriptError> {
        if self.peek(mode)? == Tok::Punct(p) {
            self.next(mode)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect_eof(&mut self) -> Result<(), ScriptError> {
        let (tok, loc) = self.next(Mode::Expr)?;
        if tok == Tok::Eof {
            Ok(())
        } else {
            Err(self.error_at(loc, "unexpected text after expression", &tok))
        }
    }

    /// A name or quoted string.
    fn name(&mut self, mode: Mode, what: &str) -> Result<(String, Loc), ScriptError> {
        let (tok, loc) = self.next(mode)?;
        match tok {
            Tok::Name(s) | Tok::Str(s) => Ok((s, loc)),
            other => Err(self.error_at(loc, format!("expected {what}"), &other)),
        }
    }

    /// At a statement boundary: finishes included files and splices in `INCLUDE`d ones.
    /// Returns the next token (peeked) in `mode`.
    fn statement_start(&mut self, mode: Mode) -> Result<Tok, ScriptError> {
        loop {
            let tok = self.peek(mode)?;
            match &tok {
                Tok::Eof if self.sources.len() > 1 => {
                    self.sources.pop();
                }
                Tok::Name(n) if n == "INCLUDE" => {
                    self.next(mode)?;
                    let (file, loc) = self.name(Mode::Name { colon: false }, "a file name")?;
                    if self.sources.len() > 16 {
                        return Err(ScriptError {
                            loc,
                            msg: "INCLUDE nested too deeply (recursive include?)".into(),
                            text: file,
                        });
                    }
                    let (path, text) =
                        (self.resolve_include)(&file, &self.search_dirs).map_err(|msg| {
                            ScriptError {
                                loc: loc.clone(),
                                msg,
                                text: file.clone(),
                            }
                        })?;
                    self.sources.push(Source {
                        file: path.display().to_string().into(),
                        text: text.into(),
                        pos: 0,
                        line: 1,
                        col: 1,
                    });
                }
                _ => return Ok(tok),
            }
        }
    }

    fn script(&mut self) -> Result<Script, ScriptError> {
        let mut commands = Vec::new();
        loop {
            let tok = self.statement_start(Mode::Expr)?;
            let name = match tok {
                Tok::Eof => return Ok(Script { commands }),
                Tok::Punct(";") => {
                    self.next(Mode::Expr)?;
                    continue;
                }
                Tok::Name(n) => n,
                other => {
                    let (_, loc) = self.next(Mode::Expr)?;
                    return Err(self.error_at(loc, "expected a command", &other));
                }
            };
            let name_mode = Mode::Name { colon: false };
            match name.as_str() {
                "ENTRY" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    let (sym, _) = self.name(name_mode, "a symbol name")?;
                    self.expect(")", Mode::Expr)?;
                    commands.push(Command::Entry(sym));
                }
                "SEARCH_DIR" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    let (dir, _) = self.name(name_mode, "a directory")?;
                    self.expect(")", Mode::Expr)?;
                    self.search_dirs.push(PathBuf::from(&dir));
                    commands.push(Command::SearchDir(dir));
                }
                "OUTPUT_FORMAT" | "OUTPUT_ARCH" | "TARGET" | "OUTPUT" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    loop {
                        self.name(name_mode, "a name")?;
                        if !self.eat(",", Mode::Expr)? {
                            break;
                        }
                    }
                    self.expect(")", Mode::Expr)?;
                }
                "EXTERN" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    let mut syms = Vec::new();
                    while self.peek(name_mode)? != Tok::Punct(")") {
                        syms.push(self.name(name_mode, "a symbol name")?.0);
                        self.eat(",", Mode::Expr)?;
                    }
                    self.expect(")", Mode::Expr)?;
                    commands.push(Command::Extern(syms));
                }
                "REGION_ALIAS" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    let (alias, _) = self.name(name_mode, "an alias name")?;
                    self.expect(",", Mode::Expr)?;
                    let (region, _) = self.name(name_mode, "a region name")?;
                    self.expect(")", Mode::Expr)?;
                    commands.push(Command::RegionAlias { alias, region });
                }
                "MEMORY" => {
                    self.next(Mode::Expr)?;
                    commands.push(Command::Memory(self.memory()?));
                }
                "SECTIONS" => {
                    self.next(Mode::Expr)?;
                    commands.push(Command::Sections(self.sections()?));
                }
                "ASSERT" => {
                    let a = self.assert()?;
                    commands.push(Command::Assert(a));
                }
                _ => {
                    let a = self.assignment(Mode::Expr)?;
                    commands.push(Command::Assign(a));
                }
            }
        }
    }

    fn memory(&mut self) -> Result<Vec<MemoryRegion>, ScriptError> {
        self.expect("{", Mode::Expr)?;
        let mut regions = Vec::new();
        let name_mode = Mode::Name { colon: false };
        loop {
            match self.statement_start(name_mode)? {
                Tok::Punct("}") => {
                    self.next(Mode::Expr)?;
                    return Ok(regions);
                }
                _ => {
                    let (name, loc) = self.name(name_mode, "a memory region name")?;
                    let mut attrs = String::new();
                    if self.eat("(", Mode::Expr)? {
                        let (a, aloc) = self.name(name_mode, "region attributes")?;
                        if let Some(bad) = a.chars().find(|c| !"rwxailRWXAIL!".contains(*c)) {
                            return Err(ScriptError {
                                loc: aloc,
                                msg: format!("unknown memory attribute `{bad}`"),
                                text: a,
                            });
                        }
                        attrs = a;
                        self.expect(")", Mode::Expr)?;
                    }
                    self.expect(":", Mode::Expr)?;
                    self.memory_key(&["ORIGIN", "org", "o"])?;
                    let origin = self.expr()?;
                    self.eat(",", Mode::Expr)?;
                    self.memory_key(&["LENGTH", "len", "l"])?;
                    let length = self.expr()?;
                    self.eat(",", Mode::Expr)?;
                    regions.push(MemoryRegion {
                        name,
                        attrs,
                        origin,
                        length,
                        loc,
                    });
                }
            }
        }
    }

    fn memory_key(&mut self, keys: &[&str]) -> Result<(), ScriptError> {
        let (tok, loc) = self.next(Mode::Expr)?;
        match &tok {
            Tok::Name(n) if keys.contains(&n.as_str()) => {
                self.expect("=", Mode::Expr)?;
                Ok(())
            }
            _ => Err(self.error_at(loc, format!("expected `{} =`", keys[0]), &tok)),
        }
    }

    fn assert(&mut self) -> Result<Assert, ScriptError> {
        let (_, loc) = self.next(Mode::Expr)?;
        self.expect("(", Mode::Expr)?;
        let expr = self.expr()?;
        self.expect(",", Mode::Expr)?;
        let (msg, _) = self.name(Mode::Name { colon: false }, "an assertion message")?;
        self.expect(")", Mode::Expr)?;
        self.eat(";", Mode::Expr)?;
        Ok(Assert { expr, msg, loc })
    }

    /// `sym op expr ;` or PROVIDE/PROVIDE_HIDDEN/HIDDEN(sym = expr) [;].
    fn assignment(&mut self, mode: Mode) -> Result<Assignment, ScriptError> {
        let (tok, loc) = self.next(mode)?;
        let Tok::Name(name) = tok else {
            return Err(self.error_at(loc, "expected an assignment", &tok));
        };
        let vis = match name.as_str() {
            "PROVIDE" => Some(Visibility::Provide),
            "PROVIDE_HIDDEN" => Some(Visibility::ProvideHidden),
            "HIDDEN" => Some(Visibility::Hidden),
            _ => None,
        };
        if let Some(vis) = vis {
            self.expect("(", Mode::Expr)?;
            let (target, tloc) = self.name(Mode::Expr, "a symbol name")?;
            let (op, oploc) = self.next(Mode::Expr)?;
            if op != Tok::Punct("=") {
                return Err(self.error_at(oploc, format!("expected `=` in {name}"), &op));
            }
            let expr = self.expr()?;
            self.expect(")", Mode::Expr)?;
            self.eat(";", Mode::Expr)?;
            return Ok(Assignment {
                target,
                op: AssignOp::Set,
                expr,
                vis,
                loc: tloc,
            });
        }
        let (op_tok, oploc) = self.next(Mode::Expr)?;
        let op = match op_tok {
            Tok::Punct("=") => AssignOp::Set,
            Tok::Punct("+=") => AssignOp::Add,
            Tok::Punct("-=") => AssignOp::Sub,
            Tok::Punct("*=") => AssignOp::Mul,
            Tok::Punct("/=") => AssignOp::Div,
            Tok::Punct("<<=") => AssignOp::Shl,
            Tok::Punct(">>=") => AssignOp::Shr,
            Tok::Punct("&=") => AssignOp::And,
            Tok::Punct("|=") => AssignOp::Or,
            other => {
                return Err(ScriptError {
                    loc: oploc,
                    msg: format!("expected an assignment operator after `{name}`"),
                    text: other.text(),
                })
            }
        };
        let expr = self.expr()?;
        let (semi, semiloc) = self.next(Mode::Expr)?;
        if semi != Tok::Punct(";") {
            return Err(self.error_at(semiloc, "expected `;` after assignment", &semi));
        }
        Ok(Assignment {
            target: name,
            op,
            expr,
            vis: Visibility::Plain,
            loc,
        })
    }

    fn sections(&mut self) -> Result<Vec<SectionsItem>, ScriptError> {
        self.expect("{", Mode::Expr)?;
        let mut items = Vec::new();
        let name_mode = Mode::Name { colon: false };
        loop {
            let tok = self.statement_start(name_mode)?;
            match tok {
                Tok::Punct("}") => {
                    self.next(Mode::Expr)?;
                    return Ok(items);
                }
                Tok::Punct(";") => {
                    self.next(Mode::Expr)?;
                }
                Tok::Name(n) if n == "ASSERT" => items.push(SectionsItem::Assert(self.assert()?)),
                Tok::Name(n) if matches!(n.as_str(), "PROVIDE" | "PROVIDE_HIDDEN" | "HIDDEN") => {
                    items.push(SectionsItem::Assign(self.assignment(name_mode)?));
                }
                Tok::Name(_) | Tok::Str(_) => {
                    // An assignment (`sym = ...`) or an output section (`name ... :`).
                    let state = self.src().state();
                    self.next(name_mode)?;
                    let after = self.peek(Mode::Expr)?;
                    self.src().restore(state);
                    if is_assign_op(&after) {
                        items.push(SectionsItem::Assign(self.assignment(name_mode)?));
                    } else {
                        items.push(SectionsItem::Output(Box::new(self.output_section()?)));
                    }
                }
                other => {
                    let (_, loc) = self.next(name_mode)?;
                    return Err(self.error_at(
                        loc,
                        "expected an output section or assignment",
                        &other,
                    ));
                }
            }
        }
    }

    fn output_section(&mut self) -> Result<OutputSection, ScriptError> {
        let (name, loc) = self.name(Mode::Name { colon: false }, "an output section name")?;
        let mut addr = None;
        let mut kind = OutputType::Normal;
        // `(TYPE)` or an address expression, or `:` directly.
        loop {
            match self.peek(Mode::Expr)? {
                Tok::Punct(":") => break,
                Tok::Punct("(") if self.type_follows()? => {
                    self.next(Mode::Expr)?;
                    let (t, tloc) = self.name(Mode::Expr, "a section type")?;
                    kind = match t.as_str() {
                        "NOLOAD" => OutputType::NoLoad,
                        // COPY/INFO/DSECT/OVERLAY: not allocated, like NOLOAD for our purposes.
                        "COPY" | "INFO" | "DSECT" | "OVERLAY" => OutputType::NoLoad,
                        "READONLY" => OutputType::Normal,
                        _ => {
                            return Err(ScriptError {
                                loc: tloc,
                                msg: "unknown output section type".into(),
                                text: t,
                            })
                        }
                    };
                    self.expect(")", Mode::Expr)?;
                }
                _ if addr.is_none() => addr = Some(self.expr()?),
                other => {
                    let (_, l) = self.next(Mode::Expr)?;
                    return Err(self.error_at(l, "expected `:` after output section name", &other));
                }
            }
        }
        self.expect(":", Mode::Expr)?;
        let mut lma = None;
        let mut align = None;
        let mut subalign = None;
        loop {
            match self.peek(Mode::Expr)? {
                Tok::Name(n) if n == "AT" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    lma = Some(self.expr()?);
                    self.expect(")", Mode::Expr)?;
                }
                Tok::Name(n) if n == "ALIGN" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    align = Some(self.expr()?);
                    self.expect(")", Mode::Expr)?;
                }
                Tok::Name(n) if n == "SUBALIGN" => {
                    self.next(Mode::Expr)?;
                    self.expect("(", Mode::Expr)?;
                    subalign = Some(self.expr()?);
                    self.expect(")", Mode::Expr)?;
                }
                Tok::Name(n) if n == "ONLY_IF_RO" || n == "ONLY_IF_RW" => {
                    let (_, l) = self.next(Mode::Expr)?;
                    return Err(ScriptError {
                        loc: l,
                        msg: "ONLY_IF_RO/ONLY_IF_RW are not supported".into(),
                        text: n,
                    });
                }
                _ => break,
            }
        }
        self.expect("{", Mode::Expr)?;
        let items = self.output_items()?;
        let mut region = None;
        let mut lma_region = None;
        let mut fill = None;
        loop {
            match self.peek(Mode::Expr)? {
                Tok::Punct(">") => {
                    self.next(Mode::Expr)?;
                    region = Some(self.name(Mode::Name { colon: false }, "a region name")?.0);
                }
                Tok::Name(n) if n == "AT" => {
                    self.next(Mode::Expr)?;
                    self.expect(">", Mode::Expr)?;
                    lma_region = Some(self.name(Mode::Name { colon: false }, "a region name")?.0);
                }
                Tok::Punct(":") => {
                    // Program header assignment `:phdr`: accepted, phdrs are computed.
                    self.next(Mode::Expr)?;
                    self.name(Mode::Name { colon: false }, "a program header name")?;
                }
                Tok::Punct("=") => {
                    self.next(Mode::Expr)?;
                    fill = Some(self.expr()?);
                }
                Tok::Punct(",") => {
                    self.next(Mode::Expr)?;
                    break;
                }
                _ => break,
            }
        }
        Ok(OutputSection {
            name,
            addr,
            kind,
            lma,
            align,
            subalign,
            region,
            lma_region,
            fill,
            items,
            loc,
        })
    }

    /// After an output section name, is `(` the start of a `(TYPE)` rather than an address?
    fn type_follows(&mut self) -> Result<bool, ScriptError> {
        let state = self.src().state();
        self.next(Mode::Expr)?;
        let t = self.next(Mode::Expr).map(|t| t.0);
        let close = self.next(Mode::Expr).map(|t| t.0);
        self.src().restore(state);
        Ok(
            matches!(t?, Tok::Name(n) if matches!(n.as_str(), "NOLOAD" | "COPY" | "INFO" | "DSECT" | "OVERLAY" | "READONLY"))
                && close? == Tok::Punct(")"),
        )
    }

    fn output_items(&mut self) -> Result<Vec<OutputItem>, ScriptError> {
        let mut items = Vec::new();
        let file_mode = Mode::Name { colon: true };
        loop {
            let tok = self.statement_start(file_mode)?;
            match tok {
                Tok::Punct("}") => {
                    self.next(Mode::Expr)?;
                    return Ok(items);
                }
                Tok::Punct(";") => {
                    self.next(Mode::Expr)?;
                }
                Tok::Name(n) => match n.as_str() {
                    "ASSERT" => items.push(OutputItem::Assert(self.assert()?)),
                    "PROVIDE" | "PROVIDE_HIDDEN" | "HIDDEN" => {
                        items.push(OutputItem::Assign(self.assignment(file_mode)?))
                    }
                    "BYTE" | "SHORT" | "LONG" | "QUAD" | "SQUAD" => {
                        self.next(file_mode)?;
                        let size = match n.as_str() {
                            "BYTE" => 1,
                            "SHORT" => 2,
                            "LONG" => 4,
                            _ => 8,
                        };
                        self.expect("(", Mode::Expr)?;
                        let expr = self.expr()?;
                        self.expect(")", Mode::Expr)?;
                        self.eat(";", Mode::Expr)?;
                        items.push(OutputItem::Data { size, expr });
                    }
                    "FILL" => {
                        self.next(file_mode)?;
                        self.expect("(", Mode::Expr)?;
                        let expr = self.expr()?;
                        self.expect(")", Mode::Expr)?;
                        self.eat(";", Mode::Expr)?;
                        items.push(OutputItem::Fill(expr));
                    }
                    "CONSTRUCTORS" | "CREATE_OBJECT_SYMBOLS" => {
                        // Meaningful only for a.out/ECOFF; GNU ld ignores them for ELF.
                        self.next(file_mode)?;
                    }
                    "KEEP" => {
                        let (_, loc) = self.next(file_mode)?;
                        self.expect("(", Mode::Expr)?;
                        let spec = self.input_spec(true, loc)?;
                        self.expect(")", Mode::Expr)?;
                        items.push(OutputItem::Input(spec));
                    }
                    _ => {
                        let state = self.src().state();
                        let (_, loc) = self.next(file_mode)?;
                        let after = self.peek(Mode::Expr)?;
                        self.src().restore(state);
                        if is_assign_op(&after) {
                            items.push(OutputItem::Assign(self.assignment(file_mode)?));
                        } else {
                            items.push(OutputItem::Input(self.input_spec(false, loc)?));
                        }
                    }
                },
                Tok::Str(_) => {
                    let loc = self.src().loc();
                    items.push(OutputItem::Input(self.input_spec(false, loc)?));
                }
                other => {
                    let (_, loc) = self.next(file_mode)?;
                    return Err(self.error_at(
                        loc,
                        "expected an input section description or assignment",
                        &other,
                    ));
                }
            }
        }
    }

    fn name_list(&mut self, mode: Mode) -> Result<Vec<String>, ScriptError> {
        self.expect("(", Mode::Expr)?;
        let mut names = Vec::new();
        loop {
            if self.eat(")", mode)? {
                return Ok(names);
            }
            self.eat(",", Mode::Expr)?;
            names.push(self.name(mode, "a file pattern")?.0);
        }
    }

    fn input_spec(&mut self, keep: bool, loc: Loc) -> Result<InputSpec, ScriptError> {
        let file_mode = Mode::Name { colon: true };
        let mut exclude_files = Vec::new();
        if self.peek(file_mode)? == Tok::Name("EXCLUDE_FILE".into()) {
            self.next(file_mode)?;
            exclude_files = self.name_list(file_mode)?;
        }
        let (file, floc) = self.name(file_mode, "a file pattern")?;
        if matches!(
            file.as_str(),
            "SORT" | "SORT_BY_NAME" | "SORT_BY_ALIGNMENT" | "SORT_NONE" | "SORT_BY_INIT_PRIORITY"
        ) && self.peek(Mode::Expr)? == Tok::Punct("(")
        {
            return Err(ScriptError {
                loc: floc,
                msg: "sorting input files is not supported (sort sections instead)".into(),
                text: file,
            });
        }
        let mut sections = Vec::new();
        if self.eat("(", Mode::Expr)? {
            let sec_mode = Mode::Name { colon: false };
            let mut pending_exclude = Vec::new();
            loop {
                let (tok, tloc) = self.next(sec_mode)?;
                match tok {
                    Tok::Punct(")") => break,
                    Tok::Punct(",") => {}
                    Tok::Name(n) if n == "EXCLUDE_FILE" => {
                        pending_exclude = self.name_list(Mode::Name { colon: true })?;
                    }
                    Tok::Name(n) if sort_keyword(&n).is_some() => {
                        let mut sort = sort_keyword(&n).unwrap_or(SortKind::None);
                        self.expect("(", Mode::Expr)?;
                        if let Tok::Name(inner) = self.peek(sec_mode)? {
                            if let Some(inner_sort) = sort_keyword(&inner) {
                                self.next(sec_mode)?;
                                self.expect("(", Mode::Expr)?;
                                sort = combine_sort(sort, inner_sort);
                                self.sorted_patterns(sort, &mut pending_exclude, &mut sections)?;
                                self.expect(")", Mode::Expr)?;
                                continue;
                            }
                        }
                        self.sorted_patterns(sort, &mut pending_exclude, &mut sections)?;
                    }
                    Tok::Name(pattern) | Tok::Str(pattern) => sections.push(SectionPattern {
                        pattern,
                        exclude_files: std::mem::take(&mut pending_exclude),
                        sort: SortKind::None,
                    }),
                    other => {
                        return Err(self.error_at(tloc, "expected a section pattern", &other));
                    }
                }
            }
        }
        Ok(InputSpec {
            keep,
            file,
            exclude_files,
            sections,
            loc,
        })
    }

    /// Patterns inside `SORT_xxx(` up to and including the `)`.
    fn sorted_patterns(
        &mut self,
        sort: SortKind,
        pending_exclude: &mut Vec<String>,
        out: &mut Vec<SectionPattern>,
    ) -> Result<(), ScriptError> {
        let sec_mode = Mode::Name { colon: false };
        loop {
            let (tok, loc) = self.next(sec_mode)?;
            match tok {
                Tok::Punct(")") => return Ok(()),
                Tok::Name(n) if n == "EXCLUDE_FILE" => {
                    *pending_exclude = self.name_list(Mode::Name { colon: true })?;
                }
                Tok::Name(pattern) | Tok::Str(pattern) => out.push(SectionPattern {
                    pattern,
                    exclude_files: std::mem::take(pending_exclude),
                    sort,
                }),
                other => return Err(self.error_at(loc, "expected a section pattern", &other)),
            }
        }
    }

    // Expressions: C precedence, lowest first.

    pub fn expr(&mut self) -> Result<Expr, ScriptError> {
        let cond = self.binary(0)?;
        if self.eat("?", Mode::Expr)? {
            let then = self.expr()?;
            self.expect(":", Mode::Expr)?;
            let other = self.expr()?;
            let loc = cond.loc.clone();
            return Ok(Expr {
                kind: ExprKind::Cond(Box::new(cond), Box::new(then), Box::new(other)),
                loc,
            });
        }
        Ok(cond)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, ScriptError> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[("|", BinOp::BitOr)],
            &[("^", BinOp::BitXor)],
            &[("&", BinOp::BitAnd)],
            &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
            &[
                ("<", BinOp::Lt),
                ("<=", BinOp::Le),
                (">", BinOp::Gt),
                (">=", BinOp::Ge),
            ],
            &[("<<", BinOp::Shl), (">>", BinOp::Shr)],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        loop {
            let Tok::Punct(p) = self.peek(Mode::Expr)? else {
                return Ok(lhs);
            };
            let Some(&(_, op)) = LEVELS[level].iter().find(|(s, _)| *s == p) else {
                return Ok(lhs);
            };
            self.next(Mode::Expr)?;
            let rhs = self.binary(level + 1)?;
            let loc = lhs.loc.clone();
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                loc,
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, ScriptError> {
        let (tok, loc) = self.next(Mode::Expr)?;
        let op = match tok {
            Tok::Punct("-") => Some(UnOp::Neg),
            Tok::Punct("!") => Some(UnOp::Not),
            Tok::Punct("~") => Some(UnOp::BitNot),
            Tok::Punct("+") => return self.unary(),
            _ => None,
        };
        if let Some(op) = op {
            let e = self.unary()?;
            return Ok(Expr {
                kind: ExprKind::Unary(op, Box::new(e)),
                loc,
            });
        }
        let kind = match tok {
            Tok::Num(n) => ExprKind::Num(n),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")", Mode::Expr)?;
                return Ok(e);
            }
            Tok::Name(n) if n == "." => ExprKind::Dot,
            Tok::Name(n) => {
                // Only known functions take arguments: in `.stack ADDR - SIZE (NOLOAD) :` the
                // `(` after a symbol starts the section type, as in GNU ld's grammar.
                let func = Func::from_name(&n);
                if let (Some((func, min, max)), Tok::Punct("(")) = (func, self.peek(Mode::Expr)?) {
                    self.next(Mode::Expr)?;
                    let args = self.call_args(func)?;
                    if args.len() < min || args.len() > max {
                        return Err(ScriptError {
                            loc,
                            msg: format!("{n} takes {min}..={max} arguments, got {}", args.len()),
                            text: n,
                        });
                    }
                    ExprKind::Call(func, args)
                } else if n == "SIZEOF_HEADERS" {
                    ExprKind::Call(Func::SizeOfHeaders, Vec::new())
                } else {
                    ExprKind::Sym(n)
                }
            }
            other => return Err(self.error_at(loc, "expected an expression", &other)),
        };
        Ok(Expr { kind, loc })
    }

    /// Arguments after `(`, through `)`. Name arguments (ADDR(.text)) are lexed in name mode so
    /// that section names such as `.ARM.exidx` or `/DISCARD/` work.
    fn call_args(&mut self, func: Func) -> Result<Vec<Expr>, ScriptError> {
        let takes_name = matches!(
            func,
            Func::Addr
                | Func::LoadAddr
                | Func::SizeOf
                | Func::AlignOf
                | Func::Origin
                | Func::Length
                | Func::Defined
                | Func::Constant
        );
        let mut args = Vec::new();
        if self.eat(")", Mode::Expr)? {
            return Ok(args);
        }
        loop {
            if takes_name {
                let (name, loc) = self.name(Mode::Name { colon: false }, "a name")?;
                args.push(Expr {
                    kind: ExprKind::Sym(name),
                    loc,
                });
            } else {
                args.push(self.expr()?);
            }
            let (tok, loc) = self.next(Mode::Expr)?;
            match tok {
                Tok::Punct(")") => return Ok(args),
                Tok::Punct(",") => {}
                other => return Err(self.error_at(loc, "expected `,` or `)`", &other)),
            }
        }
    }
}

fn is_assign_op(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Punct("=" | "+=" | "-=" | "*=" | "/=" | "<<=" | ">>=" | "&=" | "|=")
    )
}

fn sort_keyword(name: &str) -> Option<SortKind> {
    match name {
        "SORT" | "SORT_BY_NAME" => Some(SortKind::Name),
        "SORT_BY_ALIGNMENT" => Some(SortKind::Alignment),
        // Init priority order equals name order for the `.init_array.NNNNN` names GCC emits.
        "SORT_BY_INIT_PRIORITY" => Some(SortKind::Name),
        "SORT_NONE" => Some(SortKind::None),
        _ => None,
    }
}

fn combine_sort(outer: SortKind, inner: SortKind) -> SortKind {
    match (outer, inner) {
        (SortKind::Name, SortKind::Alignment) => SortKind::NameThenAlignment,
        (SortKind::Alignment, SortKind::Name) => SortKind::AlignmentThenName,
        (outer, _) => outer,
    }
}

/// Shell-style glob match (`*`, `?`, `[...]` with `!`/`^` negation and ranges), as ld uses.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // Most script patterns are a name or `prefix*suffix` (`.text*`, `*crtbegin.o`): matched
    // without collecting characters, as layout tries every pattern on every input section.
    if !pattern.contains(['?', '[', '\\']) {
        let mut parts = pattern.splitn(3, '*');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(name), None, None) => return name == text,
            (Some(prefix), Some(suffix), None) => {
                return text.len() >= prefix.len() + suffix.len()
                    && text.starts_with(prefix)
                    && text.ends_with(suffix)
            }
            _ => {}
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    // Iterative with single-star backtracking.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p[pi..], t[ti]) {
                        if matched {
                            pi += next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against a `[...]` class at the start of `p`: (matched, pattern length), or None
/// if the class is unterminated (then `[` is literal).
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// Resolves an INCLUDE or script file name: as given, then in each search directory.
pub fn find_in_dirs(name: &str, dirs: &[PathBuf]) -> Result<(PathBuf, String), String> {
    let direct = Path::new(name);
    let candidates = std::iter::once(direct.to_path_buf()).chain(dirs.iter().map(|d| d.join(name)));
    for path in candidates {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok((path, text));
        }
    }
    Err(format!(
        "cannot find `{name}` (searched the current directory and {} -L/SEARCH_DIR director{})",
        dirs.len(),
        if dirs.len() == 1 { "y" } else { "ies" }
    ))
}

#[cfg(test)]
mod tests;
