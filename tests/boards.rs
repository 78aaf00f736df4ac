//! `hotlink boards`: every built-in board lists and shows; a user's board file is validated with
//! errors that name the file, line and key.

mod common;

use common::hotlink;

const BOARDS: [&str; 6] = [
    "imxrt1011",
    "imxrt1021",
    "imxrt1052",
    "imxrt1062",
    "imxrt1064",
    "imxrt1176",
];

#[test]
fn lists_all_six_boards() {
    let (ok, out, _) = hotlink(&["boards"]);
    assert!(ok);
    for name in BOARDS {
        assert!(
            out.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{out}"
        );
    }
}

#[test]
fn shows_every_board_as_text_and_json() {
    for name in BOARDS {
        let (ok, text, err) = hotlink(&["boards", "show", name]);
        assert!(ok, "{name}: {err}");
        assert!(text.contains("ITCM") && text.contains("FlexRAM:"), "{text}");
        let (ok, json, err) = hotlink(&["boards", "show", name, "--format", "json"]);
        assert!(ok, "{name}: {err}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["name"], name);
    }
    let (_, text, _) = hotlink(&["boards", "show", "imxrt1062"]);
    assert!(text.contains("IOMUXC_GPR17 = 0x55affa55"), "{text}");
}

#[test]
fn a_custom_board_file_loads_from_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("boards/imxrt1062.toml")
        .unwrap()
        .replace("name = \"imxrt1062\"", "name = \"myboard\"")
        // A custom split: 8 banks ITCM, 4 DTCM, 4 OCRAM.
        .replace(
            "default_layout = \"OOOODDIIIIDDOOOO\"",
            "default_layout = \"OOOODDIIIIDDOOOO\"\nlayout = \"IIIIIIIIDDDDOOOO\"",
        )
        .replacen("size = \"128K\"", "size = \"256K\"", 1)
        .replace(
            "base = 0x2028_0000\nsize = \"256K\"",
            "base = 0x2028_0000\nsize = \"128K\"",
        );
    let path = dir.path().join("myboard.toml");
    std::fs::write(&path, text).unwrap();
    let (ok, out, err) = hotlink(&["boards", "show", path.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("myboard"), "{out}");
    assert!(out.contains("ITCM 256K, DTCM 128K, OCRAM 128K"), "{out}");
    assert!(out.contains("IOMUXC_GPR17 = 0x55aaffff"), "{out}");
}

#[test]
fn a_broken_board_file_is_reported_with_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string("boards/imxrt1062.toml")
        .unwrap()
        .replace(
            "xip_prefetch = true",
            "xip_prefetch = true\nxip_prefech_depth = 2",
        );
    std::fs::write(&path, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("xip_prefech_depth"))
        .unwrap()
        + 1;
    let (ok, _, err) = hotlink(&["boards", "show", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains(&format!("bad.toml:{line}:1")), "{err}");
    assert!(err.contains("unknown field `xip_prefech_depth`"), "{err}");

    let (ok, _, err) = hotlink(&["boards", "show", "imxrt1060"]);
    assert!(!ok);
    assert!(
        err.contains("did you mean imxrt1062 or imxrt1064?"),
        "{err}"
    );
}
