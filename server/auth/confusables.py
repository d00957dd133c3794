"""Unicode security mechanisms (UTS #39) for the parts of an email address: the confusable
skeleton, script sets, and the restriction level, from `unicode_security.json` (built from
the Unicode Consortium's data by `server.auth.unicode_build`).

Two strings are confusable when their skeletons are equal. They are *mixed-script*
confusables when, besides, no one script covers both (`paypal`, and `paypal` with a Cyrillic
`a`);
*single-script* ones (`paypal`, `paypa1`) are ordinary different names."""

from __future__ import annotations

import bisect
import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("unicode_security.json")

# Script extensions that stand for every script (TR39 5.1: Common and Inherited)
ANY = frozenset({"Zyyy", "Zinh"})
# TR39 5.1 augmented script sets: writing systems that combine several scripts
AUGMENTED = {
    "Hani": {"Hanb", "Jpan", "Kore"},
    "Hira": {"Jpan"},
    "Kana": {"Jpan"},
    "Hang": {"Kore"},
    "Bopo": {"Hanb"},
}
# TR39 5.2 Highly Restrictive: Latin may join these writing systems in one string
HIGHLY_RESTRICTIVE = (
    frozenset({"Latn", "Jpan"}),
    frozenset({"Latn", "Hanb"}),
    frozenset({"Latn", "Kore"}),
)


@dataclass(frozen=True, slots=True)
class _Tables:
    ignorable_starts: list[int]
    ignorable: list[list[int]]
    script_starts: list[int]
    scripts: list[list[int | str]]
    prototypes: dict[str, str]


@cache
def _tables() -> _Tables:
    data = json.loads(DATA.read_text())
    return _Tables(
        [r[0] for r in data["ignorable"]],
        data["ignorable"],
        [r[0] for r in data["scripts"]],
        data["scripts"],
        data["prototypes"],
    )


def is_default_ignorable(char: str) -> bool:
    """Default_Ignorable_Code_Point: invisible in text (zero-width spaces and joiners,
    soft hyphens, bidi controls, variation selectors, tags)."""
    tables = _tables()
    cp = ord(char)
    i = bisect.bisect_right(tables.ignorable_starts, cp) - 1
    return i >= 0 and tables.ignorable[i][1] >= cp


def without_ignorables(text: str) -> str:
    return "".join(c for c in text if not is_default_ignorable(c))


def skeleton(text: str) -> str:
    """TR39 4: NFD, each character replaced by its prototype, NFD again."""
    prototypes = _tables().prototypes
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


@cache
def _scripts_of(char: str) -> frozenset[str]:
    """The character's script extensions, augmented (TR39 5.1); ANY for Common/Inherited."""
    tables = _tables()
    cp = ord(char)
    i = bisect.bisect_right(tables.script_starts, cp) - 1
    if i < 0 or tables.scripts[i][1] < cp:  # type: ignore[operator]
        return frozenset({"Zzzz"})  # unassigned in the data
    codes = set(str(tables.scripts[i][2]).split())
    if codes & ANY:
        return ANY
    for code in list(codes):
        codes |= AUGMENTED.get(code, set())
    return frozenset(codes)


def resolved_scripts(text: str) -> frozenset[str] | None:
    """The scripts every character of `text` belongs to; None means any script (only
    Common and Inherited characters). Empty: the text mixes scripts."""
    resolved: frozenset[str] | None = None
    for char in text:
        scripts = _scripts_of(char)
        if scripts is ANY:
            continue
        resolved = scripts if resolved is None else resolved & scripts
    return resolved


def is_single_script(text: str) -> bool:
    resolved = resolved_scripts(text)
    return resolved is None or bool(resolved)


def is_highly_restrictive(text: str) -> bool:
    """TR39 5.2: one script, or Latin with Han and Japanese kana, Bopomofo or Hangul."""
    if is_single_script(text):
        return True
    return any(
        all(_scripts_of(c) is ANY or _scripts_of(c) & allowed for c in text)
        for allowed in HIGHLY_RESTRICTIVE
    )


def looks_latin(text: str) -> bool:
    """Written in another script alone, yet read as Latin: whole-script confusable with
    Latin (`apple` spelt in Cyrillic letters)."""
    resolved = resolved_scripts(text)
    if resolved is None or not resolved or "Latn" in resolved:
        return False
    return skeleton(text).isascii() and any(c.isalpha() for c in skeleton(text))


def mixed_script_confusable(a: str, b: str) -> bool:
    """Different strings that read alike although no one script covers both."""
    if a == b or skeleton(a) != skeleton(b):
        return False
    return not is_single_script(a + b)
