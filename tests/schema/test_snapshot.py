from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schema.api import SNAPSHOT, sdl

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "API.graphql"


def test_committed_schema_snapshot_matches_the_code() -> None:
    assert SNAPSHOT.read_text() == sdl(), (
        "run `python -m schema.api` and commit schema/schema.graphql"
    )


def test_snapshot_is_valid_sdl() -> None:
    from graphql import build_schema

    schema = build_schema(SNAPSHOT.read_text())
    assert schema.query_type is not None and schema.query_type.name == "Query"


IDENTITY_TYPES = {
    "User",
    "Membership",
    "Organization",
    "Member",
    "AuthPayload",
    "ApiKey",
    "CreateApiKeyPayload",
    "OrganizationPayload",
    "MemberPayload",
    "Role",
    "UserError",
    "ErrorCode",
    "RegisterInput",
    "LoginInput",
    "CreateApiKeyInput",
    "CreateOrganizationInput",
    "AddMemberInput",
    "UpdateMemberRoleInput",
}
IDENTITY_ROOT_FIELDS = {
    "Query.me",
    "Query.organization",
    "Mutation.register",
    "Mutation.login",
    "Mutation.refreshToken",
    "Mutation.logout",
    "Mutation.createApiKey",
    "Mutation.revokeApiKey",
    "Mutation.createOrganization",
    "Mutation.addMember",
    "Mutation.updateMemberRole",
    "Mutation.removeMember",
}
OWNED_ELSEWHERE = {"Organization.events"}  # the catalog adds it


def contract_subject(line: str) -> str:
    """`Type`, `Type.field` or `Type.field(arg)` a contract_check failure line is about."""
    words = line.split()
    if words[0] == "missing":
        return words[3] if words[1] == "enum" else words[2]
    return words[1]


def test_the_identity_part_of_the_contract_is_met() -> None:
    import pytest

    checker = CONTRACT.parent / "tools" / "contract_check.py"
    if not checker.exists():
        pytest.skip("the shared contract is not checked out next to this repository")
    result = subprocess.run(
        [sys.executable, str(checker), str(CONTRACT), str(SNAPSHOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    failures = []
    for line in result.stdout.splitlines()[:-1]:
        subject = contract_subject(line).split("(")[0]
        owner = subject.split(".")[0]
        if subject in OWNED_ELSEWHERE:
            continue
        if owner in IDENTITY_TYPES or subject in IDENTITY_ROOT_FIELDS:
            failures.append(line)
    assert result.stdout.splitlines()[-1].endswith("failed")
    assert failures == [], "\n".join(failures)
