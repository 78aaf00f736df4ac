#!/usr/bin/env python3
"""Print the arguments the gcc driver passes to the linker, one per line.

Reads the output of `arm-none-eabi-gcc ... -###` on stdin, finds the collect2
command and prints its arguments without collect2 itself and without the LTO
plugin options (they name temporary files and do not change a non-LTO link).
The result is a response file for `arm-none-eabi-ld @file` that repeats the
driver's link exactly: start files, -L list, libraries and their order.
"""
import shlex
import sys

for line in sys.stdin:
    words = shlex.split(line)
    if not words or not words[0].endswith("collect2"):
        continue
    args = words[1:]
    out = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-plugin":
            i += 2
            continue
        if a.startswith("-plugin-opt"):
            i += 1
            continue
        out.append(a)
        i += 1
    print("\n".join(out))
    sys.exit(0)
sys.exit("ld_args.py: no collect2 command in the driver's -### output")
