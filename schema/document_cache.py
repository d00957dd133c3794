"""The parse/validation cache: prepared documents by their text, least recently used out
first, bounded by the memory the entries hold rather than by their number.

An entry's size is estimated from what dominates it: the text, the parsed tokens (each
token, its AST node and location keep about 500 bytes alive) and the validation errors
(each with its message, locations and source), plus what every entry keeps whatever
its size (about 12 KB for the smallest document). The per-item figures are upper bounds
measured on graphql-core's structures (a test holds them to that). A failure is kept only
while small, so that a stream of large invalid documents leaves nothing behind; and no
entry may take more than a sixteenth of the budget."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graphql import Token

    from schema.executor import Prepared

BYTES_PER_TOKEN = 640
BYTES_PER_ERROR = 4096
BYTES_PER_ENTRY = 16 * 1024
MAX_FAILURE_BYTES = 128 * 1024


def accounted_size(query: str, prepared: Prepared) -> int:
    tokens = 0
    if prepared.document is not None and prepared.document.loc is not None:
        token: Token | None = prepared.document.loc.start_token
        while token is not None:
            tokens += 1
            token = token.next
    errors = sum(BYTES_PER_ERROR + sys.getsizeof(e.message) for e in prepared.errors)
    return BYTES_PER_ENTRY + sys.getsizeof(query) + tokens * BYTES_PER_TOKEN + errors


class DocumentCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[Prepared, int]] = OrderedDict()

    def get(self, query: str) -> Prepared | None:
        entry = self._entries.get(query)
        if entry is None:
            return None
        self._entries.move_to_end(query)
        return entry[0]

    def put(self, query: str, prepared: Prepared) -> None:
        size = accounted_size(query, prepared)
        if size > self.max_bytes // 16 or (prepared.errors and size > MAX_FAILURE_BYTES):
            return
        previous = self._entries.pop(query, None)
        if previous is not None:
            self.bytes -= previous[1]
        while self._entries and self.bytes + size > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted
        self._entries[query] = (prepared, size)
        self.bytes += size

    def sizes(self) -> Iterator[int]:
        return (size for _, size in self._entries.values())

    def __contains__(self, query: object) -> bool:
        return query in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
