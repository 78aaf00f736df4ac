#!/usr/bin/env python3
"""zephyr-style fixture: generate linker_relocate.ld from zephyr_code_relocate() calls.

Stands in for Zephyr's build step (CMake collects the zephyr_code_relocate() calls,
scripts/build/gen_relocate_app.py writes the linker fragment) so that the fixture
builds without Zephyr. Our own code, stdlib only; it follows the documented
behaviour of that step for text relocation:

  * FILES src/x.c       -> the object CMake compiles it to, CMakeFiles/app.dir/src/x.c.obj
                           (../lib/y.c -> CMakeFiles/app.dir/__/lib/y.c.obj)
  * LIBRARY name        -> every member of the CMake target's archive lib<name>.a
  * LOCATION <MEM>_TEXT -> output section .<mem>_text_reloc > <MEM> AT> FLASH, bounded by
                           __<mem>_text_reloc_start/_end/_size and __<mem>_text_rom_start
  * only sections whose name contains ".text." are text (a plain .text never moves)
  * FILTER "regex"      -> only sections whose name the regex matches (re.search)
  * NOKEEP              -> no KEEP() around the patterns

Usage: gen_relocate.py --build BUILD_DIR -o linker_relocate.ld relocate.cmake...
"""

import argparse
import re
import struct
import sys
from pathlib import Path

CALL = re.compile(r"zephyr_code_relocate\s*\(")
TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(\))|([^\s"()]+))')


def strip_comments(text):
    return "\n".join(re.sub(r'#(?=(?:[^"]*"[^"]*")*[^"]*$).*', "", line) for line in text.splitlines())


def call_tokens(text, pos, origin):
    """The arguments of one call, up to its unquoted `)` (a FILTER regex may hold parentheses)."""
    tokens = []
    while True:
        match = TOKEN.match(text, pos)
        if not match:
            sys.exit(f"{origin}: unterminated zephyr_code_relocate( call")
        pos = match.end()
        quoted, close, bare = match.groups()
        if close:
            return tokens
        tokens.append((False, re.sub(r"\\(.)", r"\1", quoted)) if quoted is not None else (True, bare))


def parse_calls(text, origin):
    calls = []
    text = strip_comments(text)
    for start in CALL.finditer(text):
        args = {"FILES": [], "LIBRARY": None, "LOCATION": None, "FILTER": "", "NOKEEP": False}
        key = None
        tokens = call_tokens(text, start.end(), origin)
        for is_bare, word in tokens:
            if is_bare and word in ("FILES", "LIBRARY", "LOCATION", "FILTER", "PHDR"):
                key = word
            elif is_bare and word in ("NOKEEP", "NOCOPY"):
                args[word] = True
                key = None
            elif key == "FILES":
                args["FILES"].append(word)
            elif key in ("LIBRARY", "LOCATION", "FILTER"):
                args[key] = word
                key = None
            else:
                sys.exit(f"{origin}: zephyr_code_relocate: unexpected argument `{word}`")
        what = " ".join(w for _, w in tokens)
        if not args["LOCATION"] or not args["LOCATION"].endswith("_TEXT"):
            sys.exit(f"{origin}: this generator relocates text only (LOCATION <MEM>_TEXT): {what}")
        if bool(args["FILES"]) == bool(args["LIBRARY"]):
            sys.exit(f"{origin}: zephyr_code_relocate needs FILES or LIBRARY: {what}")
        calls.append(args)
    return calls


def elf_section_names(data, origin):
    if data[:4] != b"\x7fELF" or data[4] != 1:
        sys.exit(f"{origin}: not a 32-bit ELF object")
    shoff, = struct.unpack_from("<I", data, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x2E)
    headers = [struct.unpack_from("<IIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx][4]
    names = []
    for name, sh_type, _flags, _addr, _off, size in headers:
        end = data.index(b"\0", strtab + name)
        if sh_type == 1 and size > 0:  # SHT_PROGBITS: code and data, not relocations
            names.append(data[strtab + name:end].decode())
    return names


def archive_members(path):
    data = path.read_bytes()
    if not data.startswith(b"!<arch>\n"):
        sys.exit(f"{path}: not an archive")
    pos, long_names, members = 8, b"", []
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        name = header[:16].decode().rstrip()
        size = int(header[48:58].decode())
        body = data[pos + 60:pos + 60 + size]
        if name == "//":
            long_names = body
        elif name.startswith("/") and name[1:].isdigit():
            start = int(name[1:])
            members.append((long_names[start:long_names.index(b"/\n", start)].decode(), body))
        elif name not in ("/", "/SYM64/"):
            members.append((name.rstrip("/"), body))
        pos += 60 + size + (size & 1)
    return members


def objects_of(call, build):
    if call["FILES"]:
        for src in call["FILES"]:
            # CMake writes `..` of a source path as `__` in the object's path.
            obj = build / "CMakeFiles" / "app.dir" / (src.replace("../", "__/") + ".obj")
            if not obj.is_file():
                sys.exit(f"zephyr_code_relocate(FILES {src}): {obj} was not built")
            yield obj.name, obj.read_bytes()
    else:
        found = sorted(build.rglob(f"lib{call['LIBRARY']}.a"))
        if not found:
            sys.exit(f"zephyr_code_relocate(LIBRARY {call['LIBRARY']}): no lib{call['LIBRARY']}.a under {build}")
        yield from archive_members(found[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("lists", type=Path, nargs="+")
    args = parser.parse_args()

    by_mem = {}
    for path in args.lists:
        for call in parse_calls(path.read_text(), path):
            mem = call["LOCATION"][: -len("_TEXT")]
            lines = by_mem.setdefault(mem, set())
            for obj_name, data in objects_of(call, args.build):
                for section in elf_section_names(data, obj_name):
                    if ".text." in section and re.search(call["FILTER"], section):
                        pattern = f'*{obj_name}("{section}")'
                        lines.add(pattern if call["NOKEEP"] else f"KEEP({pattern})")

    out = ["/* Generated by gen_relocate.py from " + ", ".join(p.name for p in args.lists) + ". */"]
    for mem, lines in sorted(by_mem.items()):
        low = mem.lower()
        out.append(f"""
  /* {mem}: text sections relocated by zephyr_code_relocate() */
  .{low}_text_reloc :
  {{
    . = ALIGN(4);
{chr(10).join("    " + line for line in sorted(lines))}
    . = ALIGN(4);
  }} > {mem} AT> FLASH
  __{low}_text_reloc_end = .;
  __{low}_text_reloc_start = ADDR(.{low}_text_reloc);
  __{low}_text_reloc_size = __{low}_text_reloc_end - __{low}_text_reloc_start;
  __{low}_text_rom_start = LOADADDR(.{low}_text_reloc);""")
    args.output.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
