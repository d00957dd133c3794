"""`eventapi trusted-documents register|list`, run as the operator would: a real process
against the test database and Redis."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.schema.persisted.helpers import error_codes, persisted, post, sha
from tests.support import factories
from tests.support.gql import GraphQLClient
from tests.support.live import ROOT
from tests.support.services import ServiceUrls

ORG_NAME = "query OrgName($id: ID!) { organization(id: $id) { name } }"
PING = "query Ping { __typename }"


async def eventapi(services: ServiceUrls, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "LOG_LEVEL": "WARNING",
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_registering_a_manifest_lets_the_organizations_keys_run_it(
    gql: GraphQLClient, client: httpx.AsyncClient, services: ServiceUrls, tmp_path: Path
) -> None:
    org = await factories.create_org(gql, name="Piped")
    key = await factories.create_api_key(gql, org, ["organization:read"])
    variables = {"id": org.id}
    before = await post(
        client, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({sha(ORG_NAME): ORG_NAME, sha(PING): PING}))

    result = await eventapi(
        services, "trusted-documents", "register", "--organization", org.id, str(manifest)
    )
    listed = await eventapi(services, "trusted-documents", "list", "--organization", org.id)
    after = await post(
        client, extensions=persisted(sha(ORG_NAME)), variables=variables, api_key=key
    )

    assert error_codes(before) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"registered": 2, "added": 2}
    assert sorted(json.loads(line)["hash"] for line in listed.stdout.splitlines()) == sorted(
        [sha(ORG_NAME), sha(PING)]
    )
    assert after.json() == {"data": {"organization": {"name": "Piped"}}}


async def test_an_apollo_manifest_is_accepted(
    gql: GraphQLClient, services: ServiceUrls, tmp_path: Path
) -> None:
    org = await factories.create_org(gql)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": sha(PING), "name": "Ping", "type": "query", "body": PING}],
            }
        )
    )

    result = await eventapi(
        services, "trusted-documents", "register", "--organization", org.id, str(manifest)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {"registered": 1, "added": 1}


async def test_a_bad_manifest_is_reported_per_hash_and_registers_nothing(
    gql: GraphQLClient, services: ServiceUrls, tmp_path: Path
) -> None:
    org = await factories.create_org(gql)
    wrong = sha("something else")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({sha(PING): PING, wrong: ORG_NAME, "xyz": PING}))

    result = await eventapi(
        services, "trusted-documents", "register", "--organization", org.id, str(manifest)
    )
    listed = await eventapi(services, "trusted-documents", "list", "--organization", org.id)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"error: {wrong}.hash: This is not the SHA-256 of the document.",
        "error: xyz.hash: Not a SHA-256 hash (64 hexadecimal digits).",
    ]
    assert listed.stdout == ""


async def test_bad_arguments_are_clear_errors(
    gql: GraphQLClient, services: ServiceUrls, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps([PING]))
    valid = tmp_path / "valid.json"
    valid.write_text(json.dumps({sha(PING): PING}))
    missing_org = "0190a0a0-0000-7000-8000-000000000000"

    not_a_manifest = await eventapi(
        services, "trusted-documents", "register", "--organization", missing_org, str(manifest)
    )
    unknown_org = await eventapi(
        services, "trusted-documents", "register", "--organization", missing_org, str(valid)
    )
    bad_id = await eventapi(
        services, "trusted-documents", "register", "--organization", "x", str(valid)
    )

    assert (not_a_manifest.returncode, not_a_manifest.stdout.strip()) == (
        2,
        "error: The manifest must be a JSON object mapping SHA-256 hashes to documents.",
    )
    assert (unknown_org.returncode, unknown_org.stdout.strip()) == (
        1,
        "error: organization: No such organization.",
    )
    assert (bad_id.returncode, bad_id.stdout.strip()) == (2, "error: 'x' is not an organization id")
