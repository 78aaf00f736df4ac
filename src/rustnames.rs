//! Names of rustc's output without their build hashes.
//!
//! rustc puts hashes into object names and symbols, and they change with flags and dependency
//! versions: objects are `<crate>-<hash>.<crate>.<hash>-cgu.<n>.rcgu.o` (members of
//! `lib<crate>-<hash>.rlib`), a function's symbol in the legacy mangling ends in
//! `17h<16 hex digits>E`, and in the v0 mangling each crate carries a disambiguator
//! (`Cs<base62>_`); LLVM appends `.llvm.<number>` to symbols it made local. Plans and profiles
//! that must outlive a rebuild compare names with these removed (crate, codegen unit and symbol
//! path stay). The cc crate's `<hash>-file.o` objects lose their hash the same way.

/// True for rustc's and cc's 16-digit lower-case hex hashes.
fn is_hash(token: &str) -> bool {
    token.len() == 16
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An object or member file name without its build hashes: `rust_imxrt-64e7…b044.rust_imxrt.
/// acd2…f233-cgu.0.rcgu.o` becomes `rust_imxrt.rust_imxrt-cgu.0.rcgu.o`, `libcore-0147….rlib`
/// becomes `libcore.rlib`. A hash is a 16-hex-digit token between `-`, `.` or the ends; the
/// separator before it goes with it (after it, at the start).
pub fn unhashed_file(name: &str) -> String {
    // (separator before, token) pairs; the first token has none.
    let mut parts: Vec<(&str, &str)> = Vec::new();
    let mut rest = name;
    let mut sep = "";
    loop {
        let end = rest.find(['-', '.']).unwrap_or(rest.len());
        parts.push((sep, &rest[..end]));
        if end == rest.len() {
            break;
        }
        sep = &rest[end..end + 1];
        rest = &rest[end + 1..];
    }
    let mut out = String::with_capacity(name.len());
    let mut drop_next_sep = false;
    for (i, (sep, token)) in parts.into_iter().enumerate() {
        if is_hash(token) {
            drop_next_sep = i == 0;
            continue;
        }
        if !std::mem::take(&mut drop_next_sep) {
            out.push_str(sep);
        }
        out.push_str(token);
    }
    out
}

/// A section name without symbol hashes: the legacy `17h<hash>` path element, v0 crate
/// disambiguators and LLVM's `.llvm.<n>` suffix. Names without them come back unchanged.
pub fn unhashed_symbol(name: &str) -> String {
    let mut s = strip_llvm_suffix(name);
    s = strip_legacy_hash(&s);
    if s.contains("_R") {
        s = strip_v0_disambiguators(&s);
    }
    s
}

fn strip_llvm_suffix(name: &str) -> String {
    match name.find(".llvm.") {
        Some(at) if name[at + 6..].bytes().all(|b| b.is_ascii_digit()) && name.len() > at + 6 => {
            name[..at].to_string()
        }
        _ => name.to_string(),
    }
}

/// Removes every `17h` + 16 hex digits that is followed by `E` (the legacy mangling's hash).
fn strip_legacy_hash(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"17h")
            && bytes.len() >= i + 20
            && bytes[i + 19] == b'E'
            && is_hash(&name[i + 3..i + 19])
        {
            i += 19;
            continue;
        }
        let c = name[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

/// Removes v0 crate-root disambiguators: `C` `s` base-62 digits `_` before the crate name's
/// decimal length becomes `C`.
fn strip_v0_disambiguators(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'C' && bytes.get(i + 1) == Some(&b's') {
            let digits = bytes[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let under = i + 2 + digits;
            if bytes.get(under) == Some(&b'_')
                && bytes.get(under + 1).is_some_and(u8::is_ascii_digit)
            {
                out.push('C');
                i = under + 1;
                continue;
            }
        }
        let c = name[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_lose_rustc_and_cc_hashes_only() {
        assert_eq!(
            unhashed_file("rust_imxrt-64e758b66bc9b044.rust_imxrt.acd2d3b6d032f233-cgu.0.rcgu.o"),
            "rust_imxrt.rust_imxrt-cgu.0.rcgu.o"
        );
        assert_eq!(
            unhashed_file("libcompiler_builtins-bbc9955573378e8c.rlib"),
            "libcompiler_builtins.rlib"
        );
        assert_eq!(
            unhashed_file("compiler_builtins-bbc9955573378e8c.compiler_builtins.5aca761af72516b5-cgu.168.rcgu.o"),
            "compiler_builtins.compiler_builtins-cgu.168.rcgu.o"
        );
        assert_eq!(unhashed_file("0123456789abcdef-uart.o"), "uart.o");
        assert_eq!(unhashed_file("main.o"), "main.o");
        assert_eq!(unhashed_file("lib_a-memcpy.o"), "lib_a-memcpy.o");
        // 15 or 17 digits, or upper case, are not rustc's hashes.
        assert_eq!(unhashed_file("a-0123456789abcde.o"), "a-0123456789abcde.o");
        assert_eq!(
            unhashed_file("a-0123456789ABCDEF.o"),
            "a-0123456789ABCDEF.o"
        );
    }

    #[test]
    fn sections_lose_symbol_hashes() {
        assert_eq!(
            unhashed_symbol(".text._ZN10rust_imxrt7mat_mul17h4999b88c8b043d43E"),
            ".text._ZN10rust_imxrt7mat_mulE"
        );
        assert_eq!(
            unhashed_symbol(".text._ZN10rust_imxrt7mat_mul17h4999b88c8b043d43E.llvm.1234567"),
            ".text._ZN10rust_imxrt7mat_mulE"
        );
        assert_eq!(
            unhashed_symbol(".text._RNvMsa_NtCs7ldSeZOOJos_4core3fmtNtB5_9Formatter12pad_integral"),
            ".text._RNvMsa_NtC4core3fmtNtB5_9Formatter12pad_integral"
        );
        assert_eq!(unhashed_symbol(".text.vm_run"), ".text.vm_run");
        assert_eq!(unhashed_symbol(".text.llvm.x"), ".text.llvm.x");
    }
}
