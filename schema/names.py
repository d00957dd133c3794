"""Strawberry's names, converted once.

Strawberry converts the name of every argument and input field of every resolver call
to camel case again (`convert_arguments` asks the name converter each time); a mutation
with an input object paid for it on every request. The names are the schema's own, a
fixed set, so each is converted once and remembered."""

from __future__ import annotations

from strawberry.schema.name_converter import NameConverter


class RememberingNameConverter(NameConverter):
    def __init__(self) -> None:
        super().__init__(auto_camel_case=True)
        self._converted: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted
