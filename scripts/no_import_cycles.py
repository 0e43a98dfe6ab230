#!/usr/bin/env python3
"""Fails when two source files of one crate import each other (`use crate::…`, `use super::…`,
`crate::a::b` paths in code). Each crate's `src/` is read as a module tree: `lib.rs`/`main.rs`
is the root, `a.rs` or `a/mod.rs` is module `a`. A path names the file of its longest module
prefix; a module's own declarations (`mod a;`) are not imports. Usage: no_import_cycles.py
[ROOT]; prints each pair and exits 1 when there is one."""
import re
import subprocess
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
files = subprocess.run(["git", "ls-files", "*.rs"], cwd=root, capture_output=True, text=True,
                       check=True).stdout.split()

crates = {}
for f in files:
    parts = Path(f).parts
    if "src" not in parts or parts[0] == "fuzz":
        continue
    i = parts.index("src")
    crates.setdefault(Path(*parts[:i]) if i else Path("."), []).append(Path(*parts[i + 1:]))


def module_of(rel: Path):
    parts = list(rel.with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    if parts and parts[0] == "bin":
        return None
    return tuple(parts)


PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)
pairs = []
for crate, rels in crates.items():
    modules = {}
    for rel in rels:
        m = module_of(rel)
        if m is not None:
            modules[m] = rel
    edges = {}
    for m, rel in modules.items():
        text = (root / crate / "src" / rel).read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"//[^\n]*", "", text)
        cut = re.search(r"^#\[cfg\(test\)\]\s*\nmod tests", text, re.M)
        if cut:
            text = text[:cut.start()]
        here = m if rel.name in ("mod.rs", "lib.rs", "main.rs") else m
        parent = m[:-1]
        found = []
        for base, path, group in USE_GROUP.findall(text):
            for item in re.split(r"[,\s]+", group):
                item = item.split("::")[0].strip("{} ")
                if item and item not in ("self", "*"):
                    found.append((base, path + "::" + item))
        found += PATH.findall(text)
        for base, path in found:
            segs = [s for s in path.split("::") if s]
            start = {"crate": (), "super": parent, "self": here}[base]
            if base == "super":
                while segs and segs[0] == "super":
                    segs.pop(0)
                    start = start[:-1]
            target = None
            for k in range(len(segs), -1, -1):
                cand = tuple(start) + tuple(segs[:k])
                if cand in modules:
                    target = cand
                    break
            if target is not None and target != m:
                # Importing a module's own children or its root declarations is structure.
                if target == () or target[:len(m)] == m:
                    continue
                edges.setdefault(m, set()).add(target)
    for a, targets in edges.items():
        for b in targets:
            if a < b and a in edges.get(b, set()):
                pairs.append((crate / "src" / modules[a], crate / "src" / modules[b]))

for a, b in pairs:
    print(f"{a} <-> {b} import each other")
if pairs:
    sys.exit(1)
print(f"no two files import each other ({sum(len(r) for r in crates.values())} files in {len(crates)} crates)")
