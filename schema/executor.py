"""Parse, validate and execute GraphQL documents against the Strawberry-built schema.

Parsing and validation results are cached per document text (bounded LRU), so a repeated
query costs only its execution. Execution calls graphql-core directly: Strawberry's
resolvers, permission classes and scalars all live in the schema it built, and skipping
its per-request pipeline cuts a small query's overhead by an order of magnitude."""

from __future__ import annotations

from collections import OrderedDict
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

from schema.guards import cost_error, is_token_limit_error, validation_rules
from server.config import Settings

CACHE_SIZE = 2000
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
        self.rules = [*specified_rules, *validation_rules(settings)]
        self._cache: OrderedDict[str, Prepared] = OrderedDict()

    def prepare(self, query: str) -> Prepared:
        cached = self._cache.get(query)
        if cached is not None:
            self._cache.move_to_end(query)
            return cached
        prepared = self._prepare(query)
        if len(query) <= CACHEABLE_LENGTH:
            # Bounded in bytes as well as entries: 2000 one-megabyte documents (a huge
            # string literal is one token) would otherwise pin gigabytes.
            self._cache[query] = prepared
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
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
        errors = validate(self.schema, document, self.rules)
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
            return await result
        return result
