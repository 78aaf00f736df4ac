//! Which output section a symbol assigned outside every output section belongs to.
//!
//! GNU ld gives such a symbol the section of its expression's value: `ADDR(.x)` and symbols
//! defined in sections are relative to their section; `.` and `ORIGIN(region)` are relative to
//! the section `.` is in (the last one laid out); numbers, `SIZEOF`, `LENGTH`, `LOADADDR` and
//! `ABSOLUTE(...)` are absolute. A relative value plus or minus a number stays relative; two
//! relative values combine to an absolute one; comparisons and logical operators give numbers
//! ("Expression Section" in the GNU ld manual). Getting this right matters to tools that
//! classify symbols by section (`nm` letters, debuggers, hotlink's own inventory).

use super::script::{BinOp, Expr, ExprKind, Func};

/// What the analysis needs from the layout in progress.
pub trait SectionScope {
    /// The output section a symbol is defined in (None: absolute or undefined).
    fn symbol_section(&self, name: &str) -> Option<usize>;
    /// The output section with this name.
    fn section_named(&self, name: &str) -> Option<usize>;
    /// The section `.` is relative to here.
    fn dot_section(&self) -> Option<usize>;
    /// The value of a condition (for `c ? a : b`).
    fn truth(&self, e: &Expr) -> bool;
}

/// The output section `e`'s value is relative to, or None if it is absolute.
pub fn section_of(e: &Expr, cx: &dyn SectionScope) -> Option<usize> {
    match &e.kind {
        ExprKind::Num(_) | ExprKind::Str(_) | ExprKind::Unary(..) => None,
        ExprKind::Dot => cx.dot_section(),
        ExprKind::Sym(name) => cx.symbol_section(name),
        ExprKind::Cond(c, a, b) => section_of(if cx.truth(c) { a } else { b }, cx),
        ExprKind::Binary(op, a, b) => {
            use BinOp::*;
            if matches!(op, Lt | Le | Gt | Ge | Eq | Ne | And | Or) {
                return None;
            }
            match (section_of(a, cx), section_of(b, cx)) {
                (Some(s), None) => Some(s),
                (None, Some(s)) if *op != Sub => Some(s),
                _ => None,
            }
        }
        ExprKind::Call(f, args) => match f {
            Func::Addr => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Sym(name)) => cx.section_named(name),
                _ => None,
            },
            Func::Origin => cx.dot_section(),
            // ALIGN(n) aligns `.`; ALIGN(e, n) aligns e.
            Func::Align if args.len() == 1 => cx.dot_section(),
            Func::Align => args.first().and_then(|a| section_of(a, cx)),
            Func::Min | Func::Max => {
                let sections: Vec<Option<usize>> = args.iter().map(|a| section_of(a, cx)).collect();
                match sections.as_slice() {
                    [a, b] if a == b => *a,
                    _ => None,
                }
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::script::parse_expr;

    struct Cx;
    impl SectionScope for Cx {
        fn symbol_section(&self, name: &str) -> Option<usize> {
            (name == "in_text").then_some(1)
        }
        fn section_named(&self, name: &str) -> Option<usize> {
            (name == ".data").then_some(2)
        }
        fn dot_section(&self) -> Option<usize> {
            Some(7)
        }
        fn truth(&self, _: &Expr) -> bool {
            true
        }
    }

    fn of(text: &str) -> Option<usize> {
        section_of(&parse_expr("test", text).unwrap(), &Cx)
    }

    #[test]
    fn follows_gnu_ld_expression_sections() {
        assert_eq!(of("ADDR(.data)"), Some(2));
        assert_eq!(of("ADDR(.data) + SIZEOF(.data)"), Some(2));
        assert_eq!(of("ORIGIN(RAM) + LENGTH(RAM)"), Some(7));
        assert_eq!(of("in_text - ORIGIN(FLASH)"), None);
        assert_eq!(of("(SIZEOF(.text) + 0x7FFF) >> 15"), None);
        assert_eq!(of("LOADADDR(.data)"), None);
        assert_eq!(of("ABSOLUTE(in_text)"), None);
        assert_eq!(of("in_text + 4"), Some(1));
        assert_eq!(of("in_text > 4"), None);
        assert_eq!(of("DEFINED(x) ? in_text : 0"), Some(1));
        assert_eq!(of("."), Some(7));
        assert_eq!(of("0x1000"), None);
    }
}
