"""Reading the fenced blocks of our Markdown documents, for tests that run or check them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    text: str


def section(path: Path, heading: str) -> str:
    """The text under `heading` (a whole line, e.g. "## Worked examples") up to the next
    heading of the same or a higher level, fenced code not counting as headings."""
    level = len(heading.split(" ", 1)[0])
    lines = path.read_text().splitlines(keepends=True)
    start = lines.index(heading + "\n")
    fenced = False
    for end in range(start + 1, len(lines)):
        line = lines[end]
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            return "".join(lines[start:end])
    return "".join(lines[start:])


def blocks(text: str, *languages: str) -> list[Block]:
    return [
        Block(m.group(1), m.group(2))
        for m in FENCE.finditer(text)
        if not languages or m.group(1) in languages
    ]


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in `text` (header and separator rows too)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.lstrip().startswith("|")
    ]


def matches(documented: str, actual: str) -> bool:
    """Whether `actual` is what `documented` shows, `...` standing for any text."""
    pattern = ".*?".join(re.escape(part) for part in documented.split("..."))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None
