"""Parse, validate and execute GraphQL documents against the Strawberry-built schema.

Parsing and validation results are cached per document text (an LRU bounded in bytes,
`schema.document_cache`), so a repeated query costs only its execution; documents too
heavy to validate are refused first (`schema.selection_limits`). Execution calls
graphql-core directly: Strawberry's resolvers, permission classes and scalars all live
in the schema it built, and skipping its per-request pipeline cuts a small query's
overhead by an order of magnitude."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)

from schema.document_cache import DocumentCache
from schema.guards import cost_error, is_token_limit_error, validation_rules
from schema.selection_limits import selection_limit_error
from schema.suggestions import hide_suggestions
from server.config import Settings

CACHEABLE_LENGTH = 20_000  # characters; longer documents are parsed every time


@dataclass(frozen=True, slots=True)
class Prepared:
    document: DocumentNode | None
    errors: list[GraphQLError] = field(default_factory=list)
    parse_failed: bool = False
    operations: dict[str | None, OperationType] = field(default_factory=dict)

    def operation_type(self, name: str | None) -> OperationType | None:
        if name is None and len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return self.operations.get(name)


class Executor:
    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.max_tokens = settings.query_max_tokens
        self.max_cost = settings.query_max_cost
        self.max_fields = settings.query_max_fields
        self.suggestions = settings.introspection_enabled
        self.rules = [*specified_rules, *validation_rules(settings)]
        self.cache = DocumentCache(settings.query_cache_bytes)

    def prepare(self, query: str) -> Prepared:
        cached = self.cache.get(query)
        if cached is not None:
            return cached
        prepared = self._prepare(query)
        if len(query) <= CACHEABLE_LENGTH:
            self.cache.put(query, prepared)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as parse_error:
            code = (
                "QUERY_TOO_LARGE" if is_token_limit_error(parse_error) else "GRAPHQL_PARSE_FAILED"
            )
            parse_error.extensions = {**(parse_error.extensions or {}), "code": code}
            return Prepared(None, [parse_error], parse_failed=True)
        too_heavy = selection_limit_error(document, self.max_fields)
        if too_heavy is not None:
            return Prepared(None, [too_heavy])
        errors = validate(self.schema, document, self.rules)
        if not self.suggestions:
            hide_suggestions(errors)
        for invalid in errors:
            if not invalid.extensions or "code" not in invalid.extensions:
                invalid.extensions = {
                    **(invalid.extensions or {}),
                    "code": "GRAPHQL_VALIDATION_FAILED",
                }
        operations = {
            (d.name.value if d.name else None): d.operation
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        return Prepared(document, errors, operations=operations)

    async def execute(
        self,
        prepared: Prepared,
        *,
        context: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> ExecutionResult:
        assert prepared.document is not None
        too_costly = cost_error(
            self.schema, prepared.document, operation_name, variables, self.max_cost
        )
        if too_costly is not None:
            return ExecutionResult(None, [too_costly])
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        if isinstance(result, Awaitable):
            result = await result
        if result.errors and not self.suggestions:
            hide_suggestions(result.errors)  # variable coercion names input fields and enums
        return result
