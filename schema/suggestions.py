"""graphql-core's "Did you mean ...?" hints name fields, arguments, types and enum values
close to what was sent: with introspection off they would let a caller enumerate the
schema by guessing, so they are cut from every message (as graphql-js's
`hideSuggestions` does). A hint runs to its question mark; names never contain one."""

from __future__ import annotations

import re
from collections.abc import Iterable

from graphql import GraphQLError

_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


def without_suggestions(message: str) -> str:
    return _SUGGESTION.sub("", message)


def hide_suggestions(errors: Iterable[GraphQLError]) -> None:
    for error in errors:
        error.message = without_suggestions(error.message)
