use super::*;

struct Cx;

impl EvalContext for Cx {
    fn dot(&self) -> Result<u64, String> {
        Ok(0x1003)
    }
    fn symbol(&self, name: &str) -> Result<u64, String> {
        match name {
            "foo" => Ok(10),
            _ => Err(format!("undefined symbol `{name}`")),
        }
    }
    fn defined(&self, name: &str) -> bool {
        name == "foo"
    }
    fn section_addr(&self, name: &str) -> Result<u64, String> {
        if name == ".ARM.exidx" {
            Ok(0x6000_1000)
        } else {
            Err(format!("no section {name}"))
        }
    }
    fn section_load_addr(&self, _: &str) -> Result<u64, String> {
        Ok(0x6000_2000)
    }
    fn section_size(&self, _: &str) -> Result<u64, String> {
        Ok(0x40)
    }
    fn section_align(&self, _: &str) -> Result<u64, String> {
        Ok(8)
    }
    fn region_origin(&self, name: &str) -> Result<u64, String> {
        if name == "m_text" {
            Ok(0x6000_0000)
        } else {
            Err(format!("no region {name}"))
        }
    }
    fn region_length(&self, _: &str) -> Result<u64, String> {
        Ok(0x80_0000)
    }
}

fn eval(text: &str) -> u64 {
    parse_expr("t.ld", text).unwrap().eval(&Cx).unwrap()
}

fn eval_err(text: &str) -> String {
    match parse_expr("t.ld", text) {
        Ok(e) => e.eval(&Cx).unwrap_err().to_string(),
        Err(e) => e.to_string(),
    }
}

fn sections(text: &str) -> Vec<SectionsItem> {
    let script = parse_str("t.ld", text).unwrap();
    match script.commands.into_iter().next() {
        Some(Command::Sections(items)) => items,
        other => panic!("expected SECTIONS, got {other:?}"),
    }
}

fn single_output(text: &str) -> OutputSection {
    match sections(text).into_iter().next() {
        Some(SectionsItem::Output(o)) => *o,
        other => panic!("expected an output section, got {other:?}"),
    }
}

fn input_specs(o: &OutputSection) -> Vec<&InputSpec> {
    o.items
        .iter()
        .filter_map(|i| match i {
            OutputItem::Input(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn numbers_hex_and_suffixes() {
    assert_eq!(eval("0x20"), 32);
    assert_eq!(eval("0X2f"), 47);
    assert_eq!(eval("64K"), 65536);
    assert_eq!(eval("2M"), 2 * 1024 * 1024);
    assert_eq!(eval("16k"), 16384);
    assert_eq!(eval("10h"), 16);
    assert!(eval_err("0xZZ").contains("invalid number"));
}

#[test]
fn c_precedence() {
    assert_eq!(eval("1 + 2 * 3"), 7);
    assert_eq!(eval("(1 + 2) * 3"), 9);
    assert_eq!(eval("1 << 4 + 1"), 32);
    assert_eq!(eval("6 & 3 | 8"), 10);
    assert_eq!(eval("6 ^ 3 & 1"), 7);
    assert_eq!(eval("1 < 2 == 1"), 1);
    assert_eq!(eval("10 - 3 - 2"), 5);
    assert_eq!(eval("100 / 10 / 5"), 2);
    assert_eq!(eval("17 % 5"), 2);
    assert_eq!(eval("-1 + 2"), 1);
    assert_eq!(eval("~0 & 0xff"), 0xff);
    assert_eq!(eval("!0 + !5"), 1);
    assert_eq!(eval("1 || 0 && 0"), 1);
    assert_eq!(eval("0x10 >> 2 >= 4"), 1);
    assert_eq!(eval("3 != 3"), 0);
    assert_eq!(eval("2 <= 1"), 0);
    assert_eq!(eval("2 > 1"), 1);
}

#[test]
fn conditional_is_right_associative() {
    assert_eq!(eval("0 ? 1 : 0 ? 2 : 3"), 3);
    assert_eq!(eval("1 ? 0 ? 5 : 6 : 7"), 6);
    assert_eq!(eval("foo > 5 ? foo : 5"), 10);
}

#[test]
fn functions() {
    assert_eq!(eval("ALIGN(8)"), 0x1008);
    assert_eq!(eval("ALIGN(0x1001, 16)"), 0x1010);
    assert_eq!(eval("ADDR(.ARM.exidx)"), 0x6000_1000);
    assert_eq!(eval("LOADADDR(.data)"), 0x6000_2000);
    assert_eq!(eval("SIZEOF(.data)"), 0x40);
    assert_eq!(eval("ALIGNOF(.data)"), 8);
    assert_eq!(eval("ORIGIN(m_text) + LENGTH(m_text)"), 0x6080_0000);
    assert_eq!(eval("DEFINED(foo) ? foo : 3"), 10);
    assert_eq!(eval("DEFINED(bar) ? bar : 3"), 3);
    assert_eq!(eval("MIN(3, 9) + MAX(3, 9)"), 12);
    assert_eq!(eval("ABSOLUTE(.)"), 0x1003);
    assert_eq!(eval("LOG2CEIL(33)"), 6);
    assert_eq!(eval("ASSERT(foo, \"ok\")"), 10);
    assert!(eval_err("ASSERT(bar2 - bar2 + 0, \"boom\")").contains("undefined symbol"));
    assert!(eval_err("ASSERT(0, \"boom\")").contains("assertion failed: boom"));
}

#[test]
fn expression_errors_name_location_and_text() {
    assert_eq!(
        eval_err("1 +\n  FROB(2)"),
        "t.ld:2:7: unexpected text after expression (at `(`)"
    );
    assert!(eval_err("1 / 0").contains("division by zero"));
    assert!(eval_err("ALIGN(3)").contains("not a power of two"));
    assert!(eval_err("MIN(1)").contains("MIN takes 2..=2 arguments"));
    assert!(eval_err("(1 + 2").contains("expected `)`"));
    assert!(eval_err("nosuch").contains("undefined symbol `nosuch`"));
}

#[test]
fn memory_with_attributes_and_aliases() {
    let script = parse_str(
        "m.ld",
        "MEMORY\n{\n  m_itcm (RWX) : ORIGIN = 0x0, LENGTH = 128K\n  m_text (rx) : org = 0x60002000, len = 0x7FE000\n  m_x : o = 1, l = 2\n}\nREGION_ALIAS(\"CODE\", m_text);\nREGION_ALIAS(RAM, m_itcm)",
    )
    .unwrap();
    let Command::Memory(regions) = &script.commands[0] else {
        panic!("expected MEMORY");
    };
    assert_eq!(regions.len(), 3);
    assert_eq!(regions[0].name, "m_itcm");
    assert_eq!(regions[0].attrs, "RWX");
    assert_eq!(regions[0].length.eval(&Cx).unwrap(), 128 * 1024);
    assert_eq!(regions[1].origin.eval(&Cx).unwrap(), 0x6000_2000);
    assert_eq!(regions[2].attrs, "");
    assert!(
        matches!(&script.commands[1], Command::RegionAlias { alias, region } if alias == "CODE" && region == "m_text")
    );
    assert!(matches!(&script.commands[2], Command::RegionAlias { alias, .. } if alias == "RAM"));
    let err = parse_str("m.ld", "MEMORY { a (rq) : ORIGIN = 0, LENGTH = 1 }").unwrap_err();
    assert_eq!(
        err.to_string(),
        "m.ld:1:13: unknown memory attribute `q` (at `rq`)"
    );
}

#[test]
fn top_level_commands() {
    let script = parse_str(
        "t.ld",
        "OUTPUT_FORMAT(\"elf32-littlearm\", \"elf32-bigarm\", \"elf32-littlearm\")\nOUTPUT_ARCH(arm)\nENTRY(Reset_Handler)\nSEARCH_DIR(\"/some/dir\")\nEXTERN(a b)\n__stack = 0x2000;\nHEAP_SIZE += 4;\nPROVIDE(x = 1);\nASSERT(1, \"fine\")",
    )
    .unwrap();
    let c = &script.commands;
    assert!(matches!(&c[0], Command::Entry(e) if e == "Reset_Handler"));
    assert!(matches!(&c[1], Command::SearchDir(d) if d == "/some/dir"));
    assert!(matches!(&c[2], Command::Extern(v) if v == &["a", "b"]));
    assert!(matches!(&c[3], Command::Assign(a) if a.target == "__stack" && a.op == AssignOp::Set));
    assert!(matches!(&c[4], Command::Assign(a) if a.op == AssignOp::Add));
    assert!(matches!(&c[5], Command::Assign(a) if a.vis == Visibility::Provide));
    assert!(matches!(&c[6], Command::Assert(a) if a.msg == "fine"));
}

#[test]
fn all_assignment_operators() {
    let items = sections(
        "SECTIONS { a = 1; a += 1; a -= 1; a *= 2; a /= 2; a <<= 1; a >>= 1; a &= 3; a |= 4; . = 0x100; . += 4; HIDDEN(h = 1); PROVIDE_HIDDEN(p = 2); b+=1; }",
    );
    let ops: Vec<(String, AssignOp, Visibility)> = items
        .iter()
        .map(|i| match i {
            SectionsItem::Assign(a) => (a.target.clone(), a.op, a.vis),
            other => panic!("expected assignment, got {other:?}"),
        })
        .collect();
    use AssignOp::*;
    let expected = [
        ("a", Set),
        ("a", Add),
        ("a", Sub),
        ("a", Mul),
        ("a", Div),
        ("a", Shl),
        ("a", Shr),
        ("a", And),
        ("a", Or),
        (".", Set),
        (".", Add),
        ("h", Set),
        ("p", Set),
        ("b", Add),
    ];
    for (got, want) in ops.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1), want);
    }
    assert_eq!(ops[11].2, Visibility::Hidden);
    assert_eq!(ops[12].2, Visibility::ProvideHidden);
    let err = parse_str("t.ld", "SECTIONS { a = 1 }").unwrap_err();
    assert!(
        err.to_string().contains("expected `;` after assignment"),
        "{err}"
    );
}

#[test]
fn output_section_attributes() {
    let o = single_output(
        "SECTIONS { .data 0x20000000 (NOLOAD) : AT(0x60001000) ALIGN(8) SUBALIGN(4) { *(.data) } > m_dtcm AT > m_text :text = 0xff, }",
    );
    assert_eq!(o.name, ".data");
    assert_eq!(o.addr.unwrap().eval(&Cx).unwrap(), 0x2000_0000);
    assert_eq!(o.kind, OutputType::NoLoad);
    assert_eq!(o.lma.unwrap().eval(&Cx).unwrap(), 0x6000_1000);
    assert_eq!(o.align.unwrap().eval(&Cx).unwrap(), 8);
    assert_eq!(o.subalign.unwrap().eval(&Cx).unwrap(), 4);
    assert_eq!(o.region.as_deref(), Some("m_dtcm"));
    assert_eq!(o.lma_region.as_deref(), Some("m_text"));
    assert_eq!(o.fill.unwrap().eval(&Cx).unwrap(), 0xff);

    let o = single_output("SECTIONS { .stack (ORIGIN(m_text) + 4) : { } }");
    assert_eq!(o.kind, OutputType::Normal);
    assert_eq!(o.addr.unwrap().eval(&Cx).unwrap(), 0x6000_0004);
    let o = single_output("SECTIONS { .stack ORIGIN(m_text) + 8 - SIZE (NOLOAD) : { } }");
    assert_eq!(o.kind, OutputType::NoLoad);
    assert!(o.addr.is_some());
    let o = single_output("SECTIONS { .t ALIGN(16) : { } }");
    assert_eq!(o.addr.unwrap().eval(&Cx).unwrap(), 0x1010);
    let o = single_output("SECTIONS { /DISCARD/ : { *(.ARM.attributes) } }");
    assert_eq!(o.name, "/DISCARD/");
}

#[test]
fn input_section_descriptions() {
    let o = single_output(
        "SECTIONS { .text : {
            KEEP(*(.isr_vector))
            *crt0.o(.text .text.*)
            *libc.a:*memcpy*.o(.text*)
            libgcc.a:(.text)
            *(EXCLUDE_FILE(*crtend.o *crtend?.o) .ctors .dtors)
            EXCLUDE_FILE(*flash.o) *(.text*)
            KEEP(*(SORT(.init_array.*)))
            *(SORT_BY_ALIGNMENT(.rodata*))
            *(SORT_BY_NAME(SORT_BY_ALIGNMENT(.sbn.*)))
            *(COMMON)
            foo.o
            . = ALIGN(4);
            BYTE(1) SHORT(2) LONG(3) QUAD(4)
            FILL(0x90909090)
            CONSTRUCTORS
        } }",
    );
    let specs = input_specs(&o);
    assert_eq!(specs.len(), 11);
    assert!(specs[0].keep);
    assert_eq!(specs[0].sections[0].pattern, ".isr_vector");
    assert_eq!(specs[1].file, "*crt0.o");
    assert_eq!(specs[1].sections.len(), 2);
    assert_eq!(specs[2].file, "*libc.a:*memcpy*.o");
    assert_eq!(specs[3].file, "libgcc.a:");
    assert_eq!(
        specs[4].sections[0].exclude_files,
        vec!["*crtend.o", "*crtend?.o"]
    );
    assert!(specs[4].sections[1].exclude_files.is_empty());
    assert_eq!(specs[5].exclude_files, vec!["*flash.o"]);
    assert!(specs[6].keep);
    assert_eq!(specs[6].sections[0].sort, SortKind::Name);
    assert_eq!(specs[7].sections[0].sort, SortKind::Alignment);
    assert_eq!(specs[8].sections[0].sort, SortKind::NameThenAlignment);
    assert_eq!(specs[9].sections[0].pattern, "COMMON");
    assert_eq!(specs[10].file, "foo.o");
    assert!(specs[10].sections.is_empty());
    let data: Vec<u8> = o
        .items
        .iter()
        .filter_map(|i| match i {
            OutputItem::Data { size, .. } => Some(*size),
            _ => None,
        })
        .collect();
    assert_eq!(data, vec![1, 2, 4, 8]);
    assert!(o.items.iter().any(|i| matches!(i, OutputItem::Fill(_))));
    assert!(o
        .items
        .iter()
        .any(|i| matches!(i, OutputItem::Assign(a) if a.target == ".")));
}

#[test]
fn comments_and_line_columns() {
    let err = parse_str(
        "s.ld",
        "/* a\n comment */\nSECTIONS {\n  .text : { *(.text) } >\n}",
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "s.ld:5:1: expected a region name (at `}`)");
    let err = parse_str("s.ld", "/* never closed").unwrap_err();
    assert_eq!(err.to_string(), "s.ld:1:1: unterminated comment (at `/*`)");
    let err = parse_str("s.ld", "ENTRY(\"x)").unwrap_err();
    assert!(err.to_string().starts_with("s.ld:1:7: unterminated string"));
    let err = parse_str("s.ld", "SECTIONS { .t : { } } @").unwrap_err();
    assert_eq!(err.to_string(), "s.ld:1:23: unexpected character (at `@`)");
    let err = parse_str("s.ld", "SECTIONS { .t (NOLOAD : { } }").unwrap_err();
    assert_eq!(err.to_string(), "s.ld:1:23: expected `)` (at `:`)");
}

#[test]
fn include_is_spliced_everywhere_and_reports_its_file() {
    let mut files = std::collections::HashMap::new();
    files.insert("mem.ld", "MEMORY { r : ORIGIN = 0, LENGTH = 4 }");
    files.insert("inner.ld", "*(.itcm_list)\n");
    files.insert("outs.ld", ".extra : { INCLUDE inner.ld }");
    files.insert("bad.ld", "\n  . = ;");
    let mut resolver = |name: &str, _: &[PathBuf]| {
        files
            .get(name)
            .map(|t| (PathBuf::from(name), t.to_string()))
            .ok_or_else(|| format!("cannot find `{name}`"))
    };
    let script = parse(
        "main.ld",
        "INCLUDE mem.ld\nSECTIONS { INCLUDE outs.ld .text : { *(.text) } }",
        &[],
        &mut resolver,
    )
    .unwrap();
    assert!(matches!(&script.commands[0], Command::Memory(r) if r.len() == 1));
    let Command::Sections(items) = &script.commands[1] else {
        panic!()
    };
    assert_eq!(items.len(), 2);
    let SectionsItem::Output(extra) = &items[0] else {
        panic!()
    };
    assert_eq!(input_specs(extra)[0].sections[0].pattern, ".itcm_list");
    let err = parse(
        "main.ld",
        "SECTIONS { .t : { INCLUDE bad.ld } }",
        &[],
        &mut resolver,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad.ld:2:7: expected an expression (at `;`)"
    );
    let err = parse("main.ld", "INCLUDE nope.ld", &[], &mut resolver).unwrap_err();
    assert_eq!(
        err.to_string(),
        "main.ld:1:9: cannot find `nope.ld` (at `nope.ld`)"
    );
}

#[test]
fn recursive_include_is_an_error_not_a_hang() {
    let mut resolver =
        |name: &str, _: &[PathBuf]| Ok((PathBuf::from(name), format!("INCLUDE {name}")));
    let err = parse("loop.ld", "INCLUDE loop.ld", &[], &mut resolver).unwrap_err();
    assert!(err.to_string().contains("nested too deeply"), "{err}");
}

#[test]
fn glob_matching() {
    assert!(glob_match("*", ""));
    assert!(glob_match(".text*", ".text.foo"));
    assert!(glob_match(".text.*", ".text.a"));
    assert!(!glob_match(".text.*", ".text"));
    assert!(glob_match("*crt?.o", "/x/crti.o"));
    assert!(glob_match("*[abc].o", "b.o"));
    assert!(!glob_match("*[!abc].o", "b.o"));
    assert!(glob_match("*[a-c].o", "b.o"));
    assert!(glob_match("*a*b*c", "xaybzc"));
    assert!(!glob_match("*a*b*c", "xaybz"));
    assert!(glob_match("[", "["));
}

#[test]
fn glob_fast_path_agrees_with_the_general_matcher() {
    // Names and one-star patterns take a shortcut; it must answer as the character matcher.
    let chars = |s: &str| s.chars().collect::<Vec<_>>();
    for pattern in [
        ".text",
        ".text*",
        "*.o",
        "*crtbegin.o",
        ".text.*.x",
        "*",
        "**",
        "a*a",
    ] {
        for text in [
            "",
            ".text",
            ".text.f",
            ".text.f.x",
            "crtbegin.o",
            "/l/crtbegin.o",
            "a",
            "aa",
        ] {
            assert_eq!(
                glob_match(pattern, text),
                glob_at(&chars(pattern), &chars(text)),
                "{pattern} on {text}"
            );
        }
    }
}

#[test]
fn garbage_never_panics() {
    // A cheap smoke fuzz: every prefix of a realistic script either parses or errors.
    let text = "MEMORY { m (rx) : ORIGIN = 0x60000000, LENGTH = 8M }\nSECTIONS { .text : AT(ADDR(.text)) { KEEP(*(SORT_BY_NAME(.a*))) *(EXCLUDE_FILE(*x.o) .t) . = ALIGN(4); x = . > 3 ? 1 : 2; } > m =0 }";
    for end in 0..=text.len() {
        let _ = parse_str("f.ld", &text[..end]);
    }
    for junk in [
        "(((((",
        "SECTIONS {{{",
        "MEMORY { : }",
        "\"",
        "ENTRY(",
        "a = ",
        "SECTIONS { .t : { KEEP( } }",
    ] {
        assert!(parse_str("j.ld", junk).is_err(), "{junk}");
    }
}
