"""Registering, listing and removing an organization's trusted documents: who may, and
what is checked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.db import Database
from server.persisted.models import TrustedDocument
from tests.schema.persisted.helpers import sha
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors

REGISTER = """
mutation Register($org: ID!, $documents: [TrustedDocumentInput!]!) {
  registerTrustedDocuments(organizationId: $org, documents: $documents) {
    added documents { hash operationNames } errors { field message code }
  }
}
"""
LIST = """
query List($org: ID!) { trustedDocuments(organizationId: $org) { hash document operationNames } }
"""
REMOVE = """
mutation Remove($org: ID!, $hashes: [String!]!) {
  removeTrustedDocuments(organizationId: $org, hashes: $hashes) { removed errors { field code } }
}
"""
ME = "query Me { me { id } }"
PING = "query Ping { __typename } query Pong { __typename }"


def doc(text: str) -> dict[str, str]:
    return {"hash": sha(text), "document": text}


async def register(
    gql: GraphQLClient, org_id: str, documents: list[dict[str, str]], **auth: Any
) -> dict[str, Any]:
    data = await gql(REGISTER, {"org": org_id, "documents": documents}, **auth)
    return dict(data["registerTrustedDocuments"])


async def stored_count(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(TrustedDocument)) or 0)


async def test_owners_and_managers_register_documents(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)

    by_owner = await register(gql, cast.org.id, [doc(ME)], token=cast.owner.token)
    by_manager = await register(gql, cast.org.id, [doc(PING)], token=cast.manager.token)

    assert by_owner == {
        "added": 1,
        "documents": [{"hash": sha(ME), "operationNames": ["Me"]}],
        "errors": [],
    }
    assert by_manager["documents"] == [{"hash": sha(PING), "operationNames": ["Ping", "Pong"]}]
    listed = await gql(LIST, {"org": cast.org.id}, token=cast.manager.token)
    assert [d["hash"] for d in listed["trustedDocuments"]] == [sha(ME), sha(PING)]
    assert listed["trustedDocuments"][0]["document"] == ME


async def test_registering_again_is_idempotent(gql: GraphQLClient, db: Database) -> None:
    org = await factories.create_org(gql)
    await register(gql, org.id, [doc(ME)], token=org.owner.token)

    again = await register(gql, org.id, [doc(ME), doc(PING)], token=org.owner.token)

    assert again["added"] == 1
    assert {d["hash"] for d in again["documents"]} == {sha(ME), sha(PING)}
    assert await stored_count(db) == 2


async def test_staff_outsiders_and_api_keys_may_not_register(
    gql: GraphQLClient, db: Database
) -> None:
    cast = await factories.cast(gql)
    key = await factories.create_api_key(gql, cast.org, ["events:read", "events:write"])

    variables = {"org": cast.org.id, "documents": [doc(ME)]}
    as_staff = await gql.raw(REGISTER, variables, token=cast.staff.token)
    as_outsider = await register(gql, cast.org.id, [doc(ME)], token=cast.outsider.token)
    as_key = await gql.raw(REGISTER, variables, api_key=key)
    anonymous = await gql.raw(REGISTER, variables)

    assert as_staff.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert payload_errors(as_outsider) == [("NOT_FOUND", None)]
    assert as_key.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await stored_count(db) == 0


async def test_only_owners_and_managers_list_documents(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    await register(gql, cast.org.id, [doc(ME)], token=cast.owner.token)
    key = await factories.create_api_key(gql, cast.org, ["organization:read"])

    as_staff = await gql.error_code(LIST, {"org": cast.org.id}, token=cast.staff.token)
    as_outsider = await gql.error_code(LIST, {"org": cast.org.id}, token=cast.outsider.token)
    as_key = await gql.error_code(LIST, {"org": cast.org.id}, api_key=key)
    malformed = await gql.error_code(LIST, {"org": "not-an-id"}, token=cast.owner.token)
    outsiders_own = await gql(LIST, {"org": cast.other_org.id}, token=cast.outsider.token)

    assert (as_staff, as_outsider, as_key, malformed) == (
        "FORBIDDEN",
        "NOT_FOUND",
        "FORBIDDEN",
        "BAD_USER_INPUT",
    )
    assert outsiders_own == {"trustedDocuments": []}


async def test_every_bad_document_is_reported_and_nothing_is_stored(
    gql: GraphQLClient, db: Database
) -> None:
    org = await factories.create_org(gql)
    chain = ["me", *["organizations", "organization", "members", "user"] * 3, "id"]
    deep = "query Deep { " + " { ".join(chain) + " }" * (len(chain) - 1) + " }"
    documents = [
        doc(ME),
        {"hash": "not-a-hash", "document": ME},
        {"hash": sha("something else"), "document": ME},
        doc("query Broken { noSuchField }"),
        doc("query Unclosed { me { id }"),
        doc("fragment OnlyAFragment on User { id }"),
        doc(deep),
    ]

    payload = await register(gql, org.id, documents, token=org.owner.token)

    assert payload_errors(payload) == [
        ("VALIDATION", ["documents", "1", "hash"]),
        ("VALIDATION", ["documents", "2", "hash"]),
        ("VALIDATION", ["documents", "3", "document"]),
        ("VALIDATION", ["documents", "4", "document"]),
        ("VALIDATION", ["documents", "5", "document"]),
        ("VALIDATION", ["documents", "5", "document"]),
        ("VALIDATION", ["documents", "6", "document"]),
    ]
    assert "levels deep" in payload["errors"][-1]["message"]
    assert await stored_count(db) == 0


async def test_registering_nothing_or_a_bad_organization_id_is_a_validation_error(
    gql: GraphQLClient,
) -> None:
    org = await factories.create_org(gql)

    empty = await register(gql, org.id, [], token=org.owner.token)
    bad_id = await register(gql, "nope", [doc(ME)], token=org.owner.token)

    assert payload_errors(empty) == [("VALIDATION", ["documents"])]
    assert payload_errors(bad_id) == [("VALIDATION", ["organizationId"])]


async def test_removing_documents(gql: GraphQLClient, db: Database) -> None:
    cast = await factories.cast(gql)
    await register(gql, cast.org.id, [doc(ME), doc(PING)], token=cast.owner.token)

    by_outsider = await gql(
        REMOVE, {"org": cast.org.id, "hashes": [sha(ME)]}, token=cast.outsider.token
    )
    malformed = await gql(REMOVE, {"org": cast.org.id, "hashes": ["xyz"]}, token=cast.owner.token)
    removed = await gql(
        REMOVE, {"org": cast.org.id, "hashes": [sha(ME).upper()]}, token=cast.manager.token
    )

    assert payload_errors(by_outsider["removeTrustedDocuments"]) == [("NOT_FOUND", None)]
    assert malformed["removeTrustedDocuments"]["errors"] == [
        {"field": ["hashes", "0"], "code": "VALIDATION"}
    ]
    assert removed["removeTrustedDocuments"] == {"removed": 1, "errors": []}
    assert await stored_count(db) == 1
