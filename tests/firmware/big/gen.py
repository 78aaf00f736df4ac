#!/usr/bin/env python3
"""Generate the `big` firmware fixture: a large, deterministic C program.

    python3 gen.py --seed 1 --scale 1 --out DIR     write DIR/*.c and DIR/big.h
    python3 gen.py --scale 1 --list-files           print the .c file names

At scale 1 it writes about 3,300 functions (over 500 KB of Thumb-2 code) in 40
modules plus main.c; --scale N multiplies functions and modules by N.

The call graph is layered like real firmware: entry points (a dispatch table
in main.c) call services, which call drivers, down to leaves; a few hub
functions (utilities) are called from everywhere, some functions recurse on
themselves, a few call back up a layer, and about one function in ten has a
cold error path into a never-taken error handler.  Heat is skewed: most rounds
of the driver loop go through four hot entry points, and a global call budget
(`big_fuel`) bounds each round, so most of the code is cold.

Every function is also modelled here in Python with exact 32-bit semantics,
so main.c can check the result the firmware computes against the value this
generator predicts: the program fails unless every function ran correctly.
Only the standard library is used, and the output depends only on the seed
and the scale.
"""

import argparse
import os
import random
import sys

M32 = 0xFFFFFFFF
MODULES_PER_SCALE = 40
FUNCS_PER_SCALE = 3000
LAYER_FRACTIONS = [0.02, 0.06, 0.14, 0.24, 0.30, 0.24]  # layer 0 = entry points
HUB_FRACTION = 0.01
ERROR_PATH_PROBABILITY = 0.10
ROUNDS = 3000
FUEL = 24
TOPICS = [
    "net", "fs", "gfx", "usb", "audio", "crypto", "sensor", "motor", "ui", "log",
    "can", "ble", "wifi", "cfg", "pwr", "dma", "spi", "i2c", "adc", "pwm",
    "rtc", "wdt", "flash", "cache", "sched", "ipc", "shell", "json", "cbor", "zip",
]
VERBS = [
    "init", "poll", "parse", "emit", "update", "scan", "merge", "check", "route", "encode",
    "decode", "flush", "fill", "step", "apply", "reduce", "split", "probe", "sync", "trim",
]


def module_names(scale):
    return ["m%03d.c" % i for i in range(MODULES_PER_SCALE * scale)] + ["main.c"]


def rotl(v, r):
    return ((v << r) | (v >> (32 - r))) & M32


class Func:
    """One generated function: a name, a module, its layer and a statement list."""

    def __init__(self, fid, name, module, layer):
        self.fid = fid
        self.name = name
        self.module = module
        self.layer = layer
        self.k0 = 0
        self.k1 = 0
        self.stmts = []
        self.err = None  # index into the error-handler list, or None

    def callees(self):
        return [s[1] for s in self.stmts if s[0] in ("call", "ccall")]


class Program:
    def __init__(self, seed, scale):
        self.rng = random.Random(seed * 1000003 + scale)
        self.scale = scale
        self.nmodules = MODULES_PER_SCALE * scale
        self.funcs = []
        self.layers = []
        self.hubs = []
        self.errors = []  # (name, module, constant)
        self.tables = {}  # module -> list of 16-entry tables
        self.build()

    # ---- construction -------------------------------------------------
    def new_func(self, layer, module):
        fid = len(self.funcs)
        topic = TOPICS[module % len(TOPICS)]
        verb = VERBS[self.rng.randrange(len(VERBS))]
        f = Func(fid, "%s_%s_%05d" % (topic, verb, fid), module, layer)
        f.k0 = self.rng.getrandbits(32)
        f.k1 = self.rng.getrandbits(32)
        self.funcs.append(f)
        return f

    def build(self):
        rng = self.rng
        total = FUNCS_PER_SCALE * self.scale
        for layer, frac in enumerate(LAYER_FRACTIONS):
            count = max(4, int(total * frac))
            # Modules hold a band of layers each, so calls are mostly local.
            band = [m for m in range(self.nmodules) if m % len(LAYER_FRACTIONS) in (layer, (layer + 1) % 6)]
            self.layers.append([self.new_func(layer, rng.choice(band)) for _ in range(count)])
        nhubs = max(8, int(total * HUB_FRACTION))
        self.hubs = [self.new_func(len(LAYER_FRACTIONS), rng.randrange(self.nmodules)) for _ in range(nhubs)]
        self.hub_weights = [1.0 / (i + 1) ** 1.1 for i in range(nhubs)]
        for m in range(self.nmodules):
            self.tables[m] = [[rng.getrandbits(32) for _ in range(16)] for _ in range(4)]

        calls = {f.fid: [] for f in self.funcs}
        # Every function below the top has at least one caller in the layer above.
        for layer in range(1, len(self.layers)):
            upper = self.layers[layer - 1]
            for i, f in enumerate(self.layers[layer]):
                caller = upper[i % len(upper)] if i < len(upper) else self.pick_caller(upper, f)
                calls[caller.fid].append(f)
        # Extra calls: mostly down one layer and local, some to hubs, a few back up.
        for layer, funcs in enumerate(self.layers):
            for f in funcs:
                extra = rng.choice([0, 0, 1, 1, 2, 3]) if layer < len(self.layers) - 1 else rng.choice([0, 1, 1, 2])
                for _ in range(extra):
                    r = rng.random()
                    if r < 0.25 or layer == len(self.layers) - 1:
                        calls[f.fid].append(rng.choices(self.hubs, self.hub_weights)[0])
                    elif r < 0.30 and layer >= 2:
                        calls[f.fid].append(rng.choice(self.layers[layer - 1]))  # back edge
                    else:
                        nxt = self.layers[min(layer + 1 + (rng.random() < 0.2), len(self.layers) - 1)]
                        calls[f.fid].append(self.pick_local(nxt, f.module))
        for f in self.funcs:
            self.make_body(f, calls[f.fid])

    def pick_caller(self, upper, callee):
        same = [u for u in upper if u.module == callee.module]
        return self.rng.choice(same) if same and self.rng.random() < 0.6 else self.rng.choice(upper)

    def pick_local(self, layer_funcs, module):
        rng = self.rng
        if rng.random() < 0.6:
            for _ in range(8):
                g = rng.choice(layer_funcs)
                if g.module == module:
                    return g
        return rng.choice(layer_funcs)

    def make_body(self, f, callees):
        rng = self.rng
        is_hub = f.layer == len(LAYER_FRACTIONS)
        nplain = 2 + int(rng.expovariate(1 / 3.0)) if is_hub else 3 + int(rng.expovariate(1 / 3.0))
        stmts = []
        for _ in range(min(nplain, 70)):
            r = rng.random()
            if r < 0.22:
                stmts.append(("mul_add", rng.getrandbits(32) | 1, rng.getrandbits(32)))
            elif r < 0.36:
                stmts.append(("rot", rng.randrange(1, 32)))
            elif r < 0.50:
                stmts.append(("xsh", rng.randrange(1, 32)))
            elif r < 0.64:
                stmts.append(("sub_and", rng.getrandbits(32)))
            elif r < 0.78:
                stmts.append(("add_x", rng.getrandbits(32)))
            elif r < 0.88:
                stmts.append(("table", rng.randrange(4), rng.randrange(0, 28)))
            elif r < 0.95:
                cases = [(rng.choice(["add", "xor", "mul", "rot", "sub"]), rng.getrandbits(32)) for _ in range(8)]
                stmts.append(("switch", rng.randrange(0, 29), cases))
            else:
                stmts.append(("loop", rng.randrange(2, 6), rng.getrandbits(32)))
        for g in callees:
            pos = rng.randrange(len(stmts) + 1)
            if rng.random() < 0.55:
                stmts.insert(pos, ("call", g, rng.getrandbits(32)))
            else:
                mask = rng.choice([1, 3, 3, 7])
                stmts.insert(pos, ("ccall", g, mask, rng.randrange(mask + 1)))
        if not is_hub and rng.random() < 0.05:
            stmts.insert(rng.randrange(len(stmts) + 1), ("self", rng.randrange(1, 4)))
        if not is_hub and rng.random() < ERROR_PATH_PROBABILITY:
            eid = len(self.errors)
            name = "%s_error_%05d" % (TOPICS[f.module % len(TOPICS)], eid)
            self.errors.append((name, f.module, rng.getrandbits(32)))
            stmts.insert(rng.randrange(len(stmts) + 1), ("err", rng.getrandbits(32), eid))
        f.stmts = stmts

    # ---- C output -----------------------------------------------------
    def c_stmt(self, f, s, out):
        kind = s[0]
        if kind == "mul_add":
            out.append("    a = a * 0x%08xu + (b ^ 0x%08xu);" % (s[1], s[2]))
        elif kind == "rot":
            out.append("    b = (b << %d) | (b >> %d);" % (s[1], 32 - s[1]))
        elif kind == "xsh":
            out.append("    a ^= b >> %d;" % s[1])
        elif kind == "sub_and":
            out.append("    b -= a & 0x%08xu;" % s[1])
        elif kind == "add_x":
            out.append("    a += x ^ 0x%08xu;" % s[1])
        elif kind == "table":
            out.append("    a += tbl_%d[(b >> %d) & 15u];" % (s[1], s[2]))
        elif kind == "switch":
            out.append("    switch ((a >> %d) & 7u) {" % s[1])
            for i, (op, k) in enumerate(s[2]):
                label = "default" if i == 7 else "case %d" % i
                body = {
                    "add": "b += 0x%08xu;" % k,
                    "xor": "b ^= 0x%08xu;" % k,
                    "mul": "b *= 0x%08xu;" % (k | 1),
                    "rot": "b = (b << %d) | (b >> %d);" % (k % 31 + 1, 32 - (k % 31 + 1)),
                    "sub": "b = a - b - 0x%08xu;" % k,
                }[op]
                out.append("    %s:\n        %s\n        break;" % (label, body))
            out.append("    }")
        elif kind == "loop":
            out.append("    for (uint32_t i = 0; i < (x & 3u) + %du; i++) {" % s[1])
            out.append("        a = a * 33u + (b ^ i);")
            out.append("        b ^= a >> 7;")
            out.append("        b += 0x%08xu;" % s[2])
            out.append("    }")
        elif kind == "call":
            out.append("    if (big_fuel) {\n        big_fuel--;\n        a += %s(b ^ 0x%08xu);\n    }" % (s[1].name, s[2]))
        elif kind == "ccall":
            out.append(
                "    if ((a & %du) == %du && big_fuel) {\n        big_fuel--;\n        b ^= %s(a);\n    }"
                % (s[2], s[3], s[1].name)
            )
        elif kind == "self":
            out.append(
                "    if (big_fuel && (x & 3u) == 1u) {\n        big_fuel--;\n        a += %s(x >> %d);\n    }"
                % (f.name, s[1])
            )
        elif kind == "err":
            out.append(
                "    if (__builtin_expect((a ^ b) == 0x%08xu, 0))\n        return %s(a, b);"
                % (s[1], self.errors[s[2]][0])
            )

    def c_function(self, f):
        out = ["BIG_FN uint32_t %s(uint32_t x)" % f.name, "{"]
        out.append("    uint32_t a = x ^ 0x%08xu;" % f.k0)
        out.append("    uint32_t b = x + 0x%08xu;" % f.k1)
        for s in f.stmts:
            self.c_stmt(f, s, out)
        out.append("    return a ^ b;")
        out.append("}")
        return "\n".join(out)

    def write(self, outdir):
        os.makedirs(outdir, exist_ok=True)
        by_module = {m: [] for m in range(self.nmodules)}
        for f in self.funcs:
            by_module[f.module].append(f)
        errors_by_module = {m: [] for m in range(self.nmodules)}
        for eid, (name, module, k) in enumerate(self.errors):
            errors_by_module[module].append((eid, name, k))
        header = [
            "/* Generated by tests/firmware/big/gen.py: do not edit. */",
            "#ifndef BIG_H",
            "#define BIG_H",
            "#include <stdint.h>",
            "#define BIG_FN __attribute__((noinline, noclone))",
            "#define BIG_COLD __attribute__((noinline, noclone, cold))",
            "extern uint32_t big_fuel;",
            "extern uint32_t big_err_count;",
            "extern uint32_t big_last_error;",
            "#endif",
        ]
        write_file(os.path.join(outdir, "big.h"), "\n".join(header) + "\n")
        for m in range(self.nmodules):
            funcs = by_module[m]
            local = {f.fid for f in funcs}
            ext = {}
            for f in funcs:
                for s in f.stmts:
                    if s[0] in ("call", "ccall") and s[1].fid not in local:
                        ext[s[1].fid] = s[1]
            errs = {s[2] for f in funcs for s in f.stmts if s[0] == "err"}
            lines = ["/* Generated by tests/firmware/big/gen.py: do not edit. */", '#include "big.h"', ""]
            for fid in sorted(ext):
                lines.append("uint32_t %s(uint32_t x);" % ext[fid].name)
            for f in funcs:
                lines.append("uint32_t %s(uint32_t x);" % f.name)
            for eid in sorted(errs):
                if self.errors[eid][1] != m:
                    lines.append("uint32_t %s(uint32_t a, uint32_t b);" % self.errors[eid][0])
            for eid, name, _ in errors_by_module[m]:
                lines.append("uint32_t %s(uint32_t a, uint32_t b);" % name)
            lines.append("")
            used_tables = {s[1] for f in funcs for s in f.stmts if s[0] == "table"}
            for t, table in enumerate(self.tables[m]):
                if t not in used_tables:
                    continue
                lines.append("static const uint32_t tbl_%d[16] = {" % t)
                for i in range(0, 16, 4):
                    lines.append("    " + ", ".join("0x%08xu" % v for v in table[i:i + 4]) + ",")
                lines.append("};")
            lines.append("")
            for eid, name, k in errors_by_module[m]:
                lines.append("BIG_COLD uint32_t %s(uint32_t a, uint32_t b)" % name)
                lines.append("{")
                lines.append("    big_err_count++;")
                lines.append("    big_last_error = %du;" % eid)
                lines.append("    return (a * 3u) ^ b ^ 0x%08xu;" % k)
                lines.append("}")
                lines.append("")
            for f in funcs:
                lines.append(self.c_function(f))
                lines.append("")
            write_file(os.path.join(outdir, "m%03d.c" % m), "\n".join(lines))
        write_file(os.path.join(outdir, "main.c"), self.c_main())

    # ---- the driver and its expected result -------------------------------
    def hot_entries(self):
        return [0, 1, 2, 3]

    def entry_for_round(self, r):
        n = len(self.layers[0])
        if r % 4 != 3:
            return self.hot_entries()[(r >> 2) % 4]
        return (((r * 2654435761) & M32) >> 16) % n

    def c_main(self):
        entries = self.layers[0]
        acc, calls, errs = self.expected()
        lines = [
            "/* Generated by tests/firmware/big/gen.py: do not edit. */",
            '#include "big.h"',
            '#include "hotlink_fw.h"',
            "",
            "#define ROUNDS %du" % ROUNDS,
            "#define FUEL %du" % FUEL,
            "#define NENTRY %du" % len(entries),
            "",
            "uint32_t big_fuel;",
            "uint32_t big_err_count;",
            "uint32_t big_last_error;",
            "",
        ]
        for f in entries:
            lines.append("uint32_t %s(uint32_t x);" % f.name)
        lines.append("")
        lines.append("typedef uint32_t (*big_entry)(uint32_t);")
        lines.append("static const big_entry entries[NENTRY] = {")
        for f in entries:
            lines.append("    %s," % f.name)
        lines.append("};")
        lines.append("static const uint8_t hot[4] = { %s };" % ", ".join(str(e) for e in self.hot_entries()))
        lines.append(
            """
int main(void)
{
    uint32_t acc = 0x%08xu, calls = 0;
    for (uint32_t r = 0; r < ROUNDS; r++) {
        uint32_t e = (r %% 4u != 3u) ? hot[(r >> 2) %% 4u] : ((r * 2654435761u) >> 16) %% NENTRY;
        big_fuel = FUEL;
        uint32_t v = entries[e](acc ^ r);
        calls += FUEL - big_fuel + 1u;
        acc = (acc * 31u + v) ^ (acc >> 11);
    }
    if (acc != 0x%08xu || calls != %du || big_err_count != %du) {
        sh_puts("big: wrong result");
        sh_put_kx("acc", acc);
        sh_put_kv("calls", calls);
        sh_put_kv("errors", big_err_count);
        sh_putc('\\n');
        return 1;
    }
    sh_puts("big: ok");
    sh_put_kv("functions", %du);
    sh_put_kv("rounds", ROUNDS);
    sh_put_kv("calls", calls);
    sh_put_kx("checksum", acc);
    sh_putc('\\n');
    return 0;
}
"""
            % (self.seed_acc(), acc, calls, errs, len(self.funcs) + len(self.errors))
        )
        return "\n".join(lines)

    def seed_acc(self):
        return 0x1F2E3D4C

    def expected(self):
        """Run the program's model: returns (acc, calls, error-handler count)."""
        sys.setrecursionlimit(max(10000, 40 * FUEL))
        state = {"fuel": 0, "errs": 0}
        tables = self.tables
        errors = self.errors

        def run(f, x):
            a = x ^ f.k0
            b = (x + f.k1) & M32
            tbl = tables[f.module]
            for s in f.stmts:
                kind = s[0]
                if kind == "mul_add":
                    a = (a * s[1] + (b ^ s[2])) & M32
                elif kind == "rot":
                    b = rotl(b, s[1])
                elif kind == "xsh":
                    a ^= b >> s[1]
                elif kind == "sub_and":
                    b = (b - (a & s[1])) & M32
                elif kind == "add_x":
                    a = (a + (x ^ s[1])) & M32
                elif kind == "table":
                    a = (a + tbl[s[1]][(b >> s[2]) & 15]) & M32
                elif kind == "switch":
                    op, k = s[2][(a >> s[1]) & 7]
                    if op == "add":
                        b = (b + k) & M32
                    elif op == "xor":
                        b ^= k
                    elif op == "mul":
                        b = (b * (k | 1)) & M32
                    elif op == "rot":
                        b = rotl(b, k % 31 + 1)
                    else:
                        b = (a - b - k) & M32
                elif kind == "loop":
                    for i in range((x & 3) + s[1]):
                        a = (a * 33 + (b ^ i)) & M32
                        b ^= a >> 7
                        b = (b + s[2]) & M32
                elif kind == "call":
                    if state["fuel"]:
                        state["fuel"] -= 1
                        a = (a + run(s[1], b ^ s[2])) & M32
                elif kind == "ccall":
                    if (a & s[2]) == s[3] and state["fuel"]:
                        state["fuel"] -= 1
                        b ^= run(s[1], a)
                elif kind == "self":
                    if state["fuel"] and (x & 3) == 1:
                        state["fuel"] -= 1
                        a = (a + run(f, x >> s[1])) & M32
                elif kind == "err":
                    if (a ^ b) == s[1]:
                        state["errs"] += 1
                        return ((a * 3) & M32) ^ b ^ errors[s[2]][2]
            return a ^ b

        acc = self.seed_acc()
        calls = 0
        entries = self.layers[0]
        for r in range(ROUNDS):
            e = self.entry_for_round(r)
            state["fuel"] = FUEL
            v = run(entries[e], acc ^ r)
            calls = (calls + FUEL - state["fuel"] + 1) & M32
            acc = (((acc * 31) + v) & M32) ^ (acc >> 11)
        return acc, calls, state["errs"]


def write_file(path, text):
    """Write only when the content changes, so rebuilds stay incremental."""
    data = text.encode()
    try:
        with open(path, "rb") as fh:
            if fh.read() == data:
                return
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--out", help="directory for the generated sources")
    ap.add_argument("--list-files", action="store_true", help="print the .c file names and exit")
    args = ap.parse_args()
    if args.scale < 1:
        ap.error("--scale must be at least 1")
    if args.list_files:
        print(" ".join(module_names(args.scale)))
        return
    if not args.out:
        ap.error("--out is required")
    Program(args.seed, args.scale).write(args.out)


if __name__ == "__main__":
    main()
