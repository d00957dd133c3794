"""Refusals counted before validation, because validation itself is the cost.

graphql-core's OverlappingFieldsCanBeMerged rule compares every pair of fields that share
a response name in one selection set, and every pair of fragments spread together: 590
copies of `me { id }` take seconds of one core, blocking every other request of the
process. One linear walk of the parsed document bounds what those comparisons can cost:

- `TOO_MANY_FIELDS`: more than QUERY_MAX_FIELDS fields written in the document (in its
  operations and fragments), or one response name selected more than MAX_FIELD_REPEATS
  times in one selection set (inline fragments count into the set they sit in);
- `TOO_MANY_FRAGMENTS`: more than MAX_FRAGMENTS fragment definitions."""

from __future__ import annotations

from collections import Counter

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)

MAX_FIELD_REPEATS = 32
MAX_FRAGMENTS = 100


def selection_limit_error(document: DocumentNode, max_fields: int) -> GraphQLError | None:
    fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
    if fragments > MAX_FRAGMENTS:
        return _refusal(
            f"The document defines {fragments} fragments; the limit is {MAX_FRAGMENTS}.",
            "TOO_MANY_FRAGMENTS",
        )
    pending: list[SelectionSetNode] = [
        selection_set
        for d in document.definitions
        if (selection_set := getattr(d, "selection_set", None)) is not None
    ]
    fields = 0
    repeated: tuple[str, int] | None = None
    while pending:
        names: Counter[str] = Counter()
        merged = [pending.pop()]
        while merged:
            for selection in merged.pop().selections:
                if isinstance(selection, InlineFragmentNode):
                    merged.append(selection.selection_set)
                elif isinstance(selection, FieldNode):
                    fields += 1
                    names[(selection.alias or selection.name).value] += 1
                    if selection.selection_set is not None:
                        pending.append(selection.selection_set)
        if repeated is None:
            repeated = next(((k, n) for k, n in names.items() if n > MAX_FIELD_REPEATS), None)
    if fields > max_fields:
        return _refusal(
            f"The document selects {fields} fields; the limit is {max_fields}.", "TOO_MANY_FIELDS"
        )
    if repeated is not None:
        name, count = repeated
        return _refusal(
            f"'{name}' is selected {count} times in one selection set; "
            f"the limit is {MAX_FIELD_REPEATS}.",
            "TOO_MANY_FIELDS",
        )
    return None


def _refusal(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})
