"""Build `unicode_security.json`, the Unicode data `server.auth.confusables` reads, from the
Unicode Consortium's own files:

    python -m server.auth.unicode_build DIR

DIR holds `confusables.txt` (UTS #39 security data), and `Scripts.txt`,
`ScriptExtensions.txt`, `PropertyValueAliases.txt` and `DerivedCoreProperties.txt` (the
Unicode Character Database; Debian's `unicode-data` package installs them under
/usr/share/unicode). The output keeps what the email rules need: the confusable prototypes,
every code point's script extensions, and the default-ignorable code points, with the
versions and digests of the files it came from, so a rebuild can be compared."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

OUTPUT = Path(__file__).with_name("unicode_security.json")
VERSION = re.compile(r"^#\s*(?:Version:\s*|[A-Za-z]+-)(\d+\.\d+\.\d+)")


def _lines(path: Path) -> Iterator[list[str]]:
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            yield [field.strip() for field in line.split(";")]


def _range(field: str) -> tuple[int, int]:
    first, _, last = field.partition("..")
    return int(first, 16), int(last or first, 16)


def _source(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8-sig")
    version = next(
        (m.group(1) for line in text.splitlines()[:12] if (m := VERSION.match(line))), "?"
    )
    return {"version": version, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def prototypes(path: Path) -> dict[str, str]:
    """Each source character's prototype (confusables.txt: `source ; target ; MA`)."""
    out = {}
    for source, target, *_ in _lines(path):
        out[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in target.split())
    return out


def script_ranges(directory: Path) -> list[list[int | str]]:
    """[first, last, "Latn"] (or several codes, space separated, from the script
    extensions), merged where neighbours agree."""
    short = {
        fields[2]: fields[1]
        for fields in _lines(directory / "PropertyValueAliases.txt")
        if fields[0] == "sc"
    }
    scripts: dict[int, str] = {}
    for field, name in _lines(directory / "Scripts.txt"):
        first, last = _range(field)
        for cp in range(first, last + 1):
            scripts[cp] = short[name]
    for field, codes in _lines(directory / "ScriptExtensions.txt"):
        first, last = _range(field)
        for cp in range(first, last + 1):
            scripts[cp] = " ".join(sorted(codes.split()))
    merged: list[list[int | str]] = []
    for cp in sorted(scripts):
        if merged and merged[-1][1] == cp - 1 and merged[-1][2] == scripts[cp]:
            merged[-1][1] = cp
        else:
            merged.append([cp, cp, scripts[cp]])
    return merged


def ignorable_ranges(path: Path) -> list[list[int]]:
    ranges: list[list[int]] = []
    for field, prop, *_ in _lines(path):
        if prop != "Default_Ignorable_Code_Point":
            continue
        first, last = _range(field)
        if ranges and ranges[-1][1] == first - 1:
            ranges[-1][1] = last
        else:
            ranges.append([first, last])
    return sorted(ranges)


def build(directory: Path) -> dict[str, object]:
    return {
        "sources": {
            name: _source(directory / name)
            for name in ("confusables.txt", "Scripts.txt", "ScriptExtensions.txt")
        },
        "ignorable": ignorable_ranges(directory / "DerivedCoreProperties.txt"),
        "scripts": script_ranges(directory),
        "prototypes": prototypes(directory / "confusables.txt"),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    data = build(Path(argv[0]))
    OUTPUT.write_text(json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
