"""Trusted documents: the operations an organization registers for its integrations.

Registering checks every hash and every document (against the schema, through the
`check` the GraphQL layer passes in, so this module stays free of it) and reports every
problem at once; nothing is stored unless all pass. Registering is additive and
idempotent: a hash already registered is left as it is.

At request time `find_trusted_document` answers from the tagged cache, which every
registration and removal invalidates after commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.cache import InvalidateTags, TaggedCache
from server.db import Database, after_commit
from server.errors import LimitExceeded, NotFound, Validator
from server.organizations.access import Permission, authorize
from server.organizations.models import Organization
from server.persisted.manifest import document_hash, normalize_hash
from server.persisted.models import TrustedDocument

MAX_DOCUMENTS_PER_CALL = 1000
MAX_DOCUMENT_LENGTH = 100_000
MAX_DOCUMENTS_PER_ORGANIZATION = 10_000
LOOKUP_CACHE = "trusted-documents"


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    """What the GraphQL layer found in one document: its problems (none if it parses and
    validates against the schema) and the names of its operations."""

    errors: list[str] = field(default_factory=list)
    operation_names: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Registration:
    documents: list[TrustedDocument]  # every document of the call, new or not
    added: int


def documents_tag(organization_id: uuid.UUID) -> str:
    return f"trusted-documents:{organization_id}"


async def register_trusted_documents(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    documents: Sequence[tuple[str, str]],
    check: Callable[[str], DocumentCheck],
    now: datetime,
) -> Registration:
    await authorize(session, actor, organization_id, Permission.TRUSTED_DOCUMENTS_MANAGE)
    return await _register(
        session,
        organization_id=organization_id,
        documents=documents,
        check=check,
        created_by_id=actor.user_id,
        now=now,
    )


async def register_trusted_documents_as_operator(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    documents: Sequence[tuple[str, str]],
    check: Callable[[str], DocumentCheck],
    now: datetime,
) -> Registration:
    """For the deployment's operator (`eventapi trusted-documents register`), who holds the
    database credentials already: no actor to authorize, but the organization must exist."""
    found = await session.scalar(
        select(Organization.id).where(
            Organization.id == organization_id, Organization.deleted_at.is_(None)
        )
    )
    if found is None:
        raise NotFound("No such organization.", field="organization")
    return await _register(
        session,
        organization_id=organization_id,
        documents=documents,
        check=check,
        created_by_id=None,
        now=now,
    )


async def _register(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    documents: Sequence[tuple[str, str]],
    check: Callable[[str], DocumentCheck],
    created_by_id: uuid.UUID | None,
    now: datetime,
) -> Registration:
    checks = Validator()
    checks.check(bool(documents), "documents", "Register at least one document.")
    checks.check(
        len(documents) <= MAX_DOCUMENTS_PER_CALL,
        "documents",
        f"Register at most {MAX_DOCUMENTS_PER_CALL} documents at a time.",
    )
    checks.raise_if_any()

    accepted: dict[str, tuple[str, list[str]]] = {}
    for index, (raw_hash, text) in enumerate(documents):
        at = ["documents", str(index)]
        digest = normalize_hash(raw_hash)
        if digest is None:
            checks.add([*at, "hash"], "Not a SHA-256 hash (64 hexadecimal digits).")
            continue
        if len(text) > MAX_DOCUMENT_LENGTH:
            checks.add([*at, "document"], f"Longer than {MAX_DOCUMENT_LENGTH} characters.")
            continue
        if document_hash(text) != digest:
            checks.add([*at, "hash"], "This is not the SHA-256 of the document.")
            continue
        found = check(text)
        for problem in found.errors:
            checks.add([*at, "document"], problem)
        if not found.errors:
            accepted[digest] = (text, found.operation_names)
    checks.raise_if_any()

    # One registration at a time per organization, so the limit holds.
    await session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
    )
    existing = await session.scalar(
        select(func.count())
        .select_from(TrustedDocument)
        .where(
            TrustedDocument.organization_id == organization_id,
            TrustedDocument.hash.not_in(list(accepted)),
        )
    )
    if (existing or 0) + len(accepted) > MAX_DOCUMENTS_PER_ORGANIZATION:
        raise LimitExceeded(
            f"An organization can register at most {MAX_DOCUMENTS_PER_ORGANIZATION} documents.",
            field="documents",
        )
    inserted = await session.scalars(
        insert(TrustedDocument)
        .values(
            [
                {
                    "organization_id": organization_id,
                    "hash": digest,
                    "document": text,
                    "operation_names": names,
                    "created_by_id": created_by_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for digest, (text, names) in accepted.items()
            ]
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "hash"])
        .returning(TrustedDocument.hash)
    )
    added = len(list(inserted))
    if added:
        after_commit(session, InvalidateTags({documents_tag(organization_id)}))
    rows = await session.scalars(
        select(TrustedDocument)
        .where(
            TrustedDocument.organization_id == organization_id,
            TrustedDocument.hash.in_(list(accepted)),
        )
        .order_by(TrustedDocument.created_at, TrustedDocument.hash)
    )
    return Registration(list(rows), added)


async def list_trusted_documents(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID
) -> list[TrustedDocument]:
    await authorize(session, actor, organization_id, Permission.TRUSTED_DOCUMENTS_MANAGE)
    return await registered_documents(session, organization_id=organization_id)


async def registered_documents(
    session: AsyncSession, *, organization_id: uuid.UUID
) -> list[TrustedDocument]:
    """Every document of the organization, oldest first. No access check: for callers that
    made theirs (`list_trusted_documents`) or are the operator (the CLI)."""
    rows = await session.scalars(
        select(TrustedDocument)
        .where(TrustedDocument.organization_id == organization_id)
        .order_by(TrustedDocument.created_at, TrustedDocument.hash)
    )
    return list(rows)


async def remove_trusted_documents(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    hashes: Sequence[str],
) -> int:
    """Unregister documents; API keys can no longer run them once this commits."""
    await authorize(session, actor, organization_id, Permission.TRUSTED_DOCUMENTS_MANAGE)
    checks = Validator()
    digests = []
    for index, raw in enumerate(hashes):
        digest = normalize_hash(raw)
        if digest is None:
            checks.add(["hashes", str(index)], "Not a SHA-256 hash (64 hexadecimal digits).")
        else:
            digests.append(digest)
    checks.raise_if_any()
    removed = await session.scalars(
        delete(TrustedDocument)
        .where(
            TrustedDocument.organization_id == organization_id,
            TrustedDocument.hash.in_(digests),
        )
        .returning(TrustedDocument.id)
    )
    count = len(list(removed))
    if count:
        after_commit(session, InvalidateTags({documents_tag(organization_id)}))
    return count


async def find_trusted_document(
    db: Database, cache: TaggedCache, *, organization_id: uuid.UUID, digest: str
) -> str | None:
    """The registered document with this hash, for the request pipeline running an API
    key of that organization (the caller has already established who it acts for)."""

    async def load() -> str | None:
        async with db.read() as session:
            return await session.scalar(
                select(TrustedDocument.document).where(
                    TrustedDocument.organization_id == organization_id,
                    TrustedDocument.hash == digest,
                )
            )

    key = f"{organization_id}:{digest}"
    found: str | None = await cache.get_or_compute(
        LOOKUP_CACHE, key, [documents_tag(organization_id)], load
    )
    return found
