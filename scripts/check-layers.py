#!/usr/bin/env python3
"""The apsync crate's folders form layers (docs/architecture.md): no import circle between two
folders, only the CLI uses the runtime, nothing uses the CLI, and the folders below the runtime
(config, store, outbox, intake, http, pipeline) never import it. Run by scripts/test.

Reads `crate::FOLDER` paths in src/ (test modules excluded) and prints every violation.
"""

import collections
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
BELOW_RUNTIME = {"config", "store", "outbox", "intake", "http", "pipeline"}


def edges():
    graph = collections.defaultdict(set)
    for folder, _, files in os.walk(ROOT):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, ROOT).split(os.sep)
            if not name.endswith(".rs") or "tests" in rel or name == "tests.rs":
                continue
            me = rel[0].removesuffix(".rs")
            if me in ("lib", "main"):
                continue
            with open(path, encoding="utf-8") as f:
                for other in re.findall(r"crate::([a-z_0-9]+)", f.read()):
                    is_module = os.path.isdir(os.path.join(ROOT, other)) or os.path.isfile(
                        os.path.join(ROOT, other + ".rs")
                    )
                    if is_module and other != me:
                        graph[me].add(other)
    return graph


def cycles(graph):
    found = set()

    def walk(node, path):
        for nxt in graph.get(node, ()):
            if nxt in path:
                loop = path[path.index(nxt):]
                i = loop.index(min(loop))
                found.add(tuple(loop[i:] + loop[:i]))
            else:
                walk(nxt, path + [nxt])

    for node in list(graph):
        walk(node, [node])
    return sorted(found)


def main():
    graph = edges()
    problems = [" -> ".join(c + (c[0],)) + ": an import circle" for c in cycles(graph)]
    for folder, uses in sorted(graph.items()):
        if "cli" in uses:
            problems.append(f"{folder} imports the CLI")
        if "runtime" in uses and folder != "cli":
            problems.append(f"{folder} imports the runtime; only the CLI may")
        if folder in BELOW_RUNTIME and "runtime" in uses:
            problems.append(f"{folder} is below the runtime but imports it")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
