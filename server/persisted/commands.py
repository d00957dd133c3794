"""`eventapi trusted-documents register --organization <id> manifest.json` and
`eventapi trusted-documents list --organization <id>`: the operator's way to manage an
organization's trusted documents, e.g. from a deployment pipeline. The document check
comes from the CLI (it needs the GraphQL schema, which this package does not import)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import orjson
from redis.asyncio import Redis

from server.app_state import AppState
from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.effects import EffectRunner
from server.errors import DomainError, DomainErrors
from server.ids import parse_uuid
from server.persisted.errors import InvalidManifest
from server.persisted.manifest import parse_manifest
from server.persisted.service import (
    DocumentCheck,
    register_trusted_documents_as_operator,
    registered_documents,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    register = actions.add_parser("register", help="register the documents of a manifest")
    register.add_argument("--organization", required=True, help="the organization's id")
    register.add_argument("manifest", type=Path, help="JSON: {sha256: document}")
    listing = actions.add_parser("list", help="print the registered documents (JSON lines)")
    listing.add_argument("--organization", required=True, help="the organization's id")


def run(
    settings: Settings,
    args: argparse.Namespace,
    check: Callable[[str], DocumentCheck],
    out: IO[str] = sys.stdout,
) -> int:
    organization_id = parse_uuid(args.organization)
    if organization_id is None:
        print(f"error: {args.organization!r} is not an organization id", file=out)
        return 2
    if args.action == "list":
        return asyncio.run(_list(settings, organization_id, out))
    try:
        manifest = parse_manifest(orjson.loads(Path(args.manifest).read_bytes()))
    except (OSError, orjson.JSONDecodeError) as exc:
        print(f"error: cannot read {args.manifest}: {exc}", file=out)
        return 2
    except InvalidManifest as exc:
        print(f"error: {exc.message}", file=out)
        return 2
    return asyncio.run(_register(settings, organization_id, list(manifest.items()), check, out))


async def _register(
    settings: Settings,
    organization_id: uuid.UUID,
    documents: list[tuple[str, str]],
    check: Callable[[str], DocumentCheck],
    out: IO[str],
) -> int:
    assert settings.database_url and settings.redis_url
    db = Database.from_settings(settings, pool_size=1, max_overflow=0)
    redis = Redis.from_url(settings.redis_url)
    # The effect runner invalidates the cached lookups once the registration commits.
    EffectRunner(AppState(settings=settings, db=db, redis=redis)).install(db)
    try:
        async with db.transaction() as session:
            registration = await register_trusted_documents_as_operator(
                session,
                organization_id=organization_id,
                documents=documents,
                check=check,
                now=utcnow(),
            )
    except (DomainError, DomainErrors) as exc:
        errors = exc.errors if isinstance(exc, DomainErrors) else [exc]
        for error in errors:
            where = ".".join(_manifest_path(error.field, documents))
            print(
                f"error: {where}: {error.message}" if where else f"error: {error.message}", file=out
            )
        return 1
    finally:
        await redis.aclose()
        await db.dispose()
    print(
        json.dumps({"registered": len(registration.documents), "added": registration.added}),
        file=out,
    )
    return 0


def _manifest_path(field: list[str] | None, documents: list[tuple[str, str]]) -> list[str]:
    """Name a problem by the manifest's hash rather than by its position."""
    if not field or field[0] != "documents" or len(field) < 2 or not field[1].isdigit():
        return list(field or [])
    return [documents[int(field[1])][0], *field[2:]]


async def _list(settings: Settings, organization_id: uuid.UUID, out: IO[str]) -> int:
    assert settings.database_url
    db = Database.from_settings(settings, pool_size=1, max_overflow=0)
    try:
        async with db.read() as session:
            for row in await registered_documents(session, organization_id=organization_id):
                line = {"hash": row.hash, "operationNames": row.operation_names}
                print(json.dumps(line), file=out)
    finally:
        await db.dispose()
    return 0
