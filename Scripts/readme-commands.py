#!/usr/bin/env python3
"""The README's command table, made from the real help of the built `stowage`.

    Scripts/readme-commands.py STOWAGE            print the table
    Scripts/readme-commands.py STOWAGE --update   rewrite it in README.md (between the markers)
    Scripts/readme-commands.py STOWAGE --check    exit 1 when README.md's table is not the current one

Each verb is one line: its usage, then its options (global options, --help and --version
left out), as `stowage VERB --help` lists them.
"""
import os
import re
import subprocess
import sys

GLOBAL = {"--data-root", "--storage-driver", "--config", "--storage-opt", "--version", "--help"}
BEGIN, END = "<!-- commands: made by Scripts/readme-commands.py -->", "<!-- /commands -->"


def help_text(stowage, path):
    return subprocess.run([stowage] + path + ["--help"], capture_output=True, text=True, check=True).stdout


def section(text, title):
    """The lines of one section (`OPTIONS:`, `SUBCOMMANDS:`) of a help text."""
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^[A-Z ]+:", line):
            inside = line.startswith(title)
            continue
        if inside:
            lines.append(line)
    return lines


def verbs(stowage, path=()):
    """Every leaf verb, as its path of words, in the order the help lists them."""
    text = help_text(stowage, list(path))
    names = [line.split()[0].rstrip(",") for line in section(text, "SUBCOMMANDS:") if re.match(r"^  [a-z][a-z-]*(,| |$)", line)]
    if not names:
        return [list(path)]
    found = []
    for name in names:
        found += verbs(stowage, list(path) + [name])
    return found


def line_for(stowage, path):
    text = help_text(stowage, path)
    usage = next(line for line in text.splitlines() if line.startswith("USAGE: ")).removeprefix("USAGE: ")
    usage = re.sub(r" ?\[--(data-root|storage-driver|config|storage-opt) <[^>]+>( \.\.\.)?\]", "", usage)
    usage = usage.replace("[<options>] ", "")
    options = []
    for line in section(text, "OPTIONS:"):
        match = re.match(r"^  (-[^\s,]+(?:, -[^\s,]+)*)", line)
        if not match:
            continue
        names = [name.rstrip(",") for name in match.group(1).split(", ")]
        if any(name in GLOBAL for name in names):
            continue
        long = [name for name in names if name.startswith("--")]
        if len(names) == 1 and long and long[0] in usage:
            continue  # the usage shows it already
        options.append("/".join(names))
    return usage + ("    " + " ".join(options) if options else "")


def table(stowage):
    return "\n".join(line_for(stowage, path) for path in verbs(stowage) if path != ["help"])


def main():
    stowage = sys.argv[1]
    readme = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "README.md")
    block = BEGIN + "\n```\n" + table(stowage) + "\n```\n" + END
    if "--update" in sys.argv or "--check" in sys.argv:
        text = open(readme).read()
        current = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.S)
        if current is None:
            sys.exit("README.md has no command table markers")
        if "--check" in sys.argv:
            if current.group(0) != block:
                sys.exit("README.md's command table is not the current help: run Scripts/readme-commands.py STOWAGE --update")
            return
        open(readme, "w").write(text[:current.start()] + block + text[current.end():])
    else:
        print(block)


main()
