"""Turn a request's `query`, `documentId` and `extensions.persistedQuery` into the document
to run.

A document is named by its SHA-256 in either of two forms, with one meaning: Apollo's
`extensions.persistedQuery.sha256Hash`, or the GraphQL-over-HTTP persisted documents
`documentId` (`sha256:<64 hex digits>`, in the body or the query string). A request may
carry both if they agree.

Automatic persisted queries (Apollo's protocol), for every caller:
- hash only: the document stored under it, else `PERSISTED_QUERY_NOT_FOUND`
  (message "PersistedQueryNotFound"), and the client sends it again with the query;
- hash and query: the hash must be the query's SHA-256; the query is stored under it
  (once it has parsed and validated) and runs.

Trusted documents: an API key's own organization's registered documents are found by
hash too. With PERSISTED_QUERIES_ONLY_FOR_API_KEYS they are all an API key may run:
an unregistered hash is `PERSISTED_QUERY_NOT_FOUND`, an unregistered query text
`PERSISTED_QUERY_REQUIRED`. Users and anonymous callers are unaffected."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schema.executor import Executor
from schema.persisted import errors
from schema.persisted.errors import PersistedQueryError
from server.app_state import AppState
from server.auth.actor import Actor
from server.cache import tagged_cache
from server.persisted.apq import PersistedQueryStore
from server.persisted.manifest import document_hash, normalize_hash
from server.persisted.service import find_trusted_document

if TYPE_CHECKING:
    from schema.http import GraphQLParams

SUPPORTED_VERSION = 1


def requested_hash(params: GraphQLParams) -> str | None:
    """The hash the request names (`documentId` or the `persistedQuery` extension), or
    None when it names none."""
    by_extension = _extension_hash(params.extensions)
    by_id = _document_id_hash(params.document_id)
    if by_extension is not None and by_id is not None and by_extension != by_id:
        raise PersistedQueryError(
            "`documentId` and `extensions.persistedQuery` name different documents.",
            errors.HASH_MISMATCH,
        )
    return by_id or by_extension


def _document_id_hash(document_id: str | None) -> str | None:
    if document_id is None:
        return None
    prefix, colon, _ = document_id.partition(":")
    digest = normalize_hash(document_id)
    if digest is None or (colon and prefix.lower() != "sha256"):
        raise PersistedQueryError(
            "`documentId` must be a SHA-256 document identifier: `sha256:` and 64 "
            "hexadecimal digits.",
            errors.HASH_INVALID,
        )
    return digest


def _extension_hash(extensions: dict[str, Any] | None) -> str | None:
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict):
        raise PersistedQueryError(
            "`extensions.persistedQuery` must be an object with `version` and `sha256Hash`.",
            errors.INVALID,
        )
    version = persisted.get("version")
    if version != SUPPORTED_VERSION or isinstance(version, bool):
        raise PersistedQueryError(
            f"Unsupported persisted query version {version!r}; this server speaks version 1.",
            errors.VERSION_UNSUPPORTED,
        )
    digest = normalize_hash(persisted.get("sha256Hash"))
    if digest is None:
        raise PersistedQueryError(
            "`sha256Hash` must be a SHA-256 hash: 64 hexadecimal digits.", errors.HASH_INVALID
        )
    return digest


def _check_matches(query: str, digest: str, by_document_id: bool) -> None:
    if document_hash(query) != digest:
        named = "`documentId`" if by_document_id else "`sha256Hash`"
        raise PersistedQueryError(f"{named} is not the SHA-256 of `query`.", errors.HASH_MISMATCH)


class PersistedQueries:
    def __init__(self, executor: Executor, store: PersistedQueryStore | None = None) -> None:
        self.executor = executor
        self.store = store or PersistedQueryStore()

    def at_hand(self, params: GraphQLParams) -> str | None:
        """The document an anonymous caller's request runs, if it can be known without
        I/O (the query sent, or a persisted hash this process remembers); else None."""
        try:
            digest = requested_hash(params)
        except PersistedQueryError:
            return None
        if digest is None:
            return params.query
        if params.query is not None:
            return params.query if document_hash(params.query) == digest else None
        return self.store.local(digest)

    async def resolve(self, params: GraphQLParams, actor: Actor, state: AppState) -> str | None:
        """The document to run, or None to run `params.query` as sent."""
        digest = requested_hash(params)
        only_trusted = actor.is_api_key and state.settings.persisted_queries_only_for_api_keys
        if digest is None:
            if (
                only_trusted
                and params.query is not None
                and await self._trusted(state, actor, document_hash(params.query)) is None
            ):
                raise PersistedQueryError(
                    "API keys of this deployment may run only their organization's "
                    "registered documents; register this one (see trusted documents).",
                    errors.REQUIRED,
                )
            return None
        if params.query is not None:
            _check_matches(params.query, digest, params.document_id is not None)
        if actor.is_api_key:
            trusted = await self._trusted(state, actor, digest)
            if trusted is not None:
                return trusted
            if only_trusted:
                raise PersistedQueryError(
                    "No registered document of this organization has this hash.",
                    errors.NOT_FOUND,
                )
        if params.query is not None:
            if not self.executor.prepare(params.query).errors:
                await self.store.put(state.redis, digest, params.query)
            return params.query
        stored = await self.store.get(state.redis, digest)
        if stored is None:
            # Apollo clients expect 200 for the first step of their exchange; a
            # `documentId` miss is an ordinary request error.
            raise errors.not_found(apq=params.document_id is None)
        return stored

    async def _trusted(self, state: AppState, actor: Actor, digest: str) -> str | None:
        assert actor.api_key_organization_id is not None
        return await find_trusted_document(
            state.db,
            tagged_cache(state),
            organization_id=actor.api_key_organization_id,
            digest=digest,
        )
