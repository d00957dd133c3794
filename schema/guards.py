"""Refusals of abusive documents before anything runs, each a GraphQL error with a code:

- `QUERY_TOO_LARGE`: more tokens than QUERY_MAX_TOKENS (at parse time, in the executor);
- `QUERY_TOO_DEEP`, `TOO_MANY_ALIASES`: validation rules, cached with the document;
- `TOO_MANY_FIELDS`, `TOO_MANY_FRAGMENTS`: counted before validation, whose own cost they
  bound (`schema.selection_limits`);
- `INTROSPECTION_DISABLED`: `__schema` / `__type` when introspection is off (and then no
  message suggests schema names, `schema.suggestions`);
- `QUERY_TOO_COSTLY`: the operation's cost, which depends on its variables, so it is
  counted per request just before execution.

The HTTP handler applies them through `schema.executor`; operations Strawberry runs itself
(over WebSocket) get the same through the `OperationGuards` extension."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension

from schema.selection_limits import selection_limit_error
from schema.suggestions import hide_suggestions
from server.config import Settings

INTROSPECTION_FIELDS = {"__schema", "__type"}
# Arguments that bound how many items a list field returns.
SIZE_ARGUMENTS = ("first", "last", "limit")
# What a list field counts for when nothing bounds it.
DEFAULT_LIST_SIZE = 20
# The largest cost reported as it is: JSON numbers past 2**53 lose precision in clients,
# and the response encoder refuses integers past 64 bits (nested `first: 2147483647`).
MAX_REPORTED_COST = 2**53 - 1


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str],
    known: dict[str, int],
) -> int:
    """`known` keeps each fragment's depth once worked out: a fragment spread twice at
    every level would otherwise be walked 2**levels times by a one-kilobyte document."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value in INTROSPECTION_FIELDS:
                continue  # tooling introspects deeply; introspection has its own switch
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen, known))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen, known))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                if name not in known:
                    known[name] = _depth(fragment.selection_set, fragments, seen | {name}, known)
                deepest = max(deepest, known[name])
    return deepest


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def depth_limit(max_depth: int) -> type[ValidationRule]:
    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = _fragments(self.context.document)
            depth = _depth(node.selection_set, fragments, frozenset(), {})
            if depth > max_depth:
                name = node.name.value if node.name else "anonymous"
                self.report_error(
                    GraphQLError(
                        f"Operation '{name}' is {depth} levels deep; the limit is {max_depth}.",
                        node,
                        extensions={"code": "QUERY_TOO_DEEP"},
                    )
                )

    return DepthLimit


def alias_limit(max_aliases: int) -> type[ValidationRule]:
    class AliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0
            self.reported = False

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is None:
                return
            self.count += 1
            if self.count > max_aliases and not self.reported:
                self.reported = True
                self.report_error(
                    GraphQLError(
                        f"The document uses more than {max_aliases} aliases.",
                        node,
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

    return AliasLimit


class IntrospectionDisabled(ValidationRule):
    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in INTROSPECTION_FIELDS:
            self.report_error(
                GraphQLError(
                    "Introspection is disabled on this server.",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


@lru_cache(maxsize=16)
def _rules(
    max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ValidationRule], ...]:
    rules = [depth_limit(max_depth), alias_limit(max_aliases)]
    if not introspection:
        rules.append(IntrospectionDisabled)
    return tuple(rules)


def validation_rules(settings: Settings) -> tuple[type[ValidationRule], ...]:
    """The guards that depend only on the document (cacheable with its validation)."""
    return _rules(
        settings.query_max_depth, settings.query_max_aliases, settings.introspection_enabled
    )


class _CostCounter:
    """Counts 1 per field, multiplied through every list by its size: its `first`/`last`/
    `limit` argument (a literal, a variable or the argument's default), the size given
    to a connection field above it, or DEFAULT_LIST_SIZE. Every branch of a fragment on
    an abstract type is counted, so the figure is an upper bound. A fragment's cost is
    worked out once per list size it inherits, so spreading fragments within fragments
    costs the counter no more than the document is long."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = _fragments(document)
        self.known: dict[tuple[str, int | None], int] = {}
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and isinstance(definition.default_value, IntValueNode):
                self.variables[name] = int(definition.default_value.value)

    def selections(
        self,
        selection_set: SelectionSetNode,
        parent: Any,
        inherited: int | None,
        seen: frozenset[str],
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields = getattr(parent, "fields", None)
                if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) and fields:
                    field_def = fields.get(selection.name.value)
                    if field_def is not None and not selection.name.value.startswith("__"):
                        total += self.field(selection, field_def, inherited)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, target, inherited, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    key = (name, inherited)
                    if key not in self.known:
                        target = self.schema.get_type(fragment.type_condition.name.value)
                        self.known[key] = self.selections(
                            fragment.selection_set, target, inherited, seen | {name}
                        )
                    total += self.known[key]
        return total

    def field(self, node: FieldNode, field_def: GraphQLField, inherited: int | None) -> int:
        field_type = field_def.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        is_list = isinstance(field_type, GraphQLList)
        size = self.size(node, field_def)
        children = 0
        if node.selection_set is not None:
            # A size argument on a non-list field (a connection) sizes the lists below it.
            passed = size if size is not None and not is_list else None
            children = self.selections(
                node.selection_set, get_named_type(field_def.type), passed, frozenset()
            )
        if not is_list or node.selection_set is None:
            return 1 + children
        count = size if size is not None else inherited
        return (DEFAULT_LIST_SIZE if count is None else count) * (1 + children)

    def size(self, node: FieldNode, field_def: GraphQLField) -> int | None:
        for name in SIZE_ARGUMENTS:
            argument = field_def.args.get(name)
            if argument is None:
                continue
            given = next((a for a in node.arguments or () if a.name.value == name), None)
            value: Any = argument.default_value if given is None else self.value(given.value)
            if isinstance(value, int) and not isinstance(value, bool):
                return max(0, value)
        return None

    def value(self, node: Any) -> Any:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return None


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    operation = _operation(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    counter = _CostCounter(schema, document, operation, variables or {})
    return counter.selections(operation.selection_set, root, None, frozenset())


def cost_error(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    max_cost: int,
) -> GraphQLError | None:
    cost = operation_cost(schema, document, operation_name, variables)
    if cost <= max_cost:
        return None
    figure = str(cost) if cost <= MAX_REPORTED_COST else f"more than {MAX_REPORTED_COST}"
    return GraphQLError(
        f"The operation costs {figure}; the limit is {max_cost}. Ask for fewer items "
        "(smaller `first`) or fewer nested lists.",
        extensions={
            "code": "QUERY_TOO_COSTLY",
            "cost": min(cost, MAX_REPORTED_COST),
            "maxCost": max_cost,
        },
    )


def cost_limit(
    max_cost: int, operation_name: str | None, variables: Mapping[str, Any] | None
) -> type[ValidationRule]:
    """The cost limit as a validation rule, for a pipeline that validates once per request
    with the variables at hand (Strawberry's)."""

    class CostLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            error = cost_error(self.context.schema, node, operation_name, variables, max_cost)
            if error is not None:
                self.report_error(error)

    return CostLimit


class OperationGuards(SchemaExtension):
    """The same guards for operations Strawberry executes (graphql-transport-ws), with the
    limits of the app serving the request (read from the request's context)."""

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        settings: Settings = execution.context.settings
        execution.parse_options["max_tokens"] = settings.query_max_tokens
        execution.validation_rules = (
            *execution.validation_rules,
            *validation_rules(settings),
            cost_limit(settings.query_max_cost, execution.operation_name, execution.variables),
        )
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if is_token_limit_error(error):
                error.extensions = {**(error.extensions or {}), "code": "QUERY_TOO_LARGE"}

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        settings: Settings = execution.context.settings
        document = execution.graphql_document
        refusal = (
            None if document is None else selection_limit_error(document, settings.query_max_fields)
        )
        if refusal is not None:
            execution.pre_execution_errors = [refusal]  # Strawberry then skips validation
        yield
        if not settings.introspection_enabled:
            hide_suggestions(execution.pre_execution_errors or ())


def is_token_limit_error(error: GraphQLError) -> bool:
    # graphql-core reports it as a syntax error: "Document contains more than N tokens."
    return "tokens. parsing aborted" in error.message.lower()
