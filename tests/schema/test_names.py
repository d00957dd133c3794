"""The schema's name converter remembers each conversion and gives Strawberry's names."""

from __future__ import annotations

import pytest
from strawberry.schema.name_converter import NameConverter

from schema.api import schema
from schema.names import RememberingNameConverter


def test_the_schema_converts_names_through_the_remembering_converter() -> None:
    assert isinstance(schema.config.name_converter, RememberingNameConverter)


def test_a_name_is_converted_once_and_as_strawberry_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    converter = RememberingNameConverter()
    calls: list[str] = []
    original = NameConverter.apply_naming_config

    def counting(self: NameConverter, name: str) -> str:
        calls.append(name)
        return original(self, name)

    monkeypatch.setattr(NameConverter, "apply_naming_config", counting)
    names = ["buyer_email", "idempotency_key", "ticket_type_id", "id", "buyer_email"]
    assert [converter.apply_naming_config(n) for n in names] == [
        "buyerEmail",
        "idempotencyKey",
        "ticketTypeId",
        "id",
        "buyerEmail",
    ]
    assert calls == ["buyer_email", "idempotency_key", "ticket_type_id", "id"]
