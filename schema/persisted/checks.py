"""What makes a document fit to register as trusted: it parses, validates against the
schema, passes the same guards as any request (with its variables unknown, lists count
at their default size) and holds at least one operation."""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)

from schema.guards import cost_error, is_token_limit_error, validation_rules
from server.config import Settings
from server.persisted.service import DocumentCheck


def document_checker(schema: GraphQLSchema, settings: Settings) -> Callable[[str], DocumentCheck]:
    rules = (*specified_rules, *validation_rules(settings))

    def check(text: str) -> DocumentCheck:
        try:
            document = parse(text, max_tokens=settings.query_max_tokens)
        except GraphQLError as error:
            if is_token_limit_error(error):
                return DocumentCheck([f"More than {settings.query_max_tokens} tokens."])
            return DocumentCheck([error.message])
        problems = [error.message for error in validate(schema, document, rules)]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if not operations:
            problems.append("The document holds no operation.")
        if not problems:
            for operation in operations:
                name = operation.name.value if operation.name else None
                too_costly = cost_error(schema, document, name, {}, settings.query_max_cost)
                if too_costly is not None:
                    problems.append(too_costly.message)
        names = [o.name.value for o in operations if o.name is not None]
        return DocumentCheck(problems, names)

    return check
