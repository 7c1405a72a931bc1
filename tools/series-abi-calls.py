#!/usr/bin/env python3
# series-abi-calls.py TREE [HEADER]: before `make qemu-series-check` (minutes per run), lists
# in a patch tree (make qemu-tree) every call api->f(...) whose argument count differs from
# today's prototype in qemu-abi.h. The series check builds every patch against today's
# header, so an ABI change must rewrite each earlier patch's calls (pass neutral values
# where the later patch adds the real ones). Prints "patch N (subject): file:line ...".
import re
import subprocess
import sys

tree = sys.argv[1] if len(sys.argv) > 1 else "."
header = sys.argv[2] if len(sys.argv) > 2 else __file__.rsplit("/", 2)[0] + "/kvm-rr/abi/qemu/kvmrr/qemu-abi.h"
proto = {}
for m in re.finditer(r"\(\*(\w+)\)\(([^)]*)\)", open(header).read()):
    args = m.group(2).strip()
    proto[m.group(1)] = 0 if args in ("", "void") else args.count(",") + 1


def git(*a):
    return subprocess.run(["git", "-C", tree, *a], capture_output=True, check=False).stdout.decode(errors="replace")


def calls(text):
    for m in re.finditer(r"api\((?:NULL)?\)->(\w+)\(|api->(\w+)\(", text):
        name, i, depth, commas, empty = m.group(1) or m.group(2), m.end(), 1, 0, True
        while i < len(text) and depth:
            c = text[i]
            depth += c in "([{"
            depth -= c in ")]}"
            commas += c == "," and depth == 1
            empty &= not (depth and not c.isspace())
            i += 1
        yield name, 0 if empty else commas + 1, text.count("\n", 0, m.start()) + 1


seen = set()
for n, c in enumerate(git("rev-list", "--reverse", "base..HEAD").split(), 1):
    subject = git("log", "--format=%s", "-1", c).strip()
    for spec in git("grep", "-l", "-e", "api->", "-e", "api(NULL)->", "-e", "api()->", c, "--", "*.c").split():
        path = spec.split(":", 1)[1]
        for name, argc, line in calls(git("show", spec)):
            if name in proto and proto[name] != argc and (path, name, argc) not in seen:
                seen.add((path, name, argc))
                print(f"patch {n} ({subject}): {path}:{line} {name} has {argc} arguments, the header {proto[name]}")
