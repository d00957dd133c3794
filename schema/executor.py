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
from graphql.validation import NoSchemaIntrospectionCustomRule

from schema.guards import alias_limit, depth_limit
from server.config import Settings

CACHE_SIZE = 2000


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
        rules = [
            *specified_rules,
            depth_limit(settings.query_max_depth),
            alias_limit(settings.query_max_aliases),
        ]
        if not settings.introspection_enabled:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = rules
        self._cache: OrderedDict[str, Prepared] = OrderedDict()

    def prepare(self, query: str) -> Prepared:
        cached = self._cache.get(query)
        if cached is not None:
            self._cache.move_to_end(query)
            return cached
        prepared = self._prepare(query)
        self._cache[query] = prepared
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return prepared

    def _prepare(self, query: str) -> Prepared:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as parse_error:
            too_large = "token limit" in parse_error.message.lower()
            code = "QUERY_TOO_LARGE" if too_large else "GRAPHQL_PARSE_FAILED"
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
