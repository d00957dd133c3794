"""Where uploaded files live, behind a small interface so an object store can replace the
local directory without touching the services that store or serve files.

Keys are relative, slash-separated names chosen by the application (`events/<id>/<id>`),
never by clients. The local implementation keeps them under `DATA_DIR/assets`, writes
through a temporary file and a rename (a reader never sees half a file) and does its
blocking file work in a thread."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from server.config import Settings

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")
CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    path: Path | None = None  # set by stores that keep files on the local disk

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.path is None:
            raise NotImplementedError("remote stores stream through their own client")
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)


class Storage(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        """Store a (large) file built on local disk, without reading it into memory; the
        source is consumed."""
        ...

    async def open(self, key: str) -> StoredObject | None: ...

    async def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    if not KEY_RE.match(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        path = self._path(key)

        def move() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if source.parent == path.parent:
                os.replace(source, path)
            else:
                _copy_then_replace(source, path)

        await asyncio.to_thread(move)

    async def open(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None
        return StoredObject(key=key, size=size, path=path)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def _copy_then_replace(source: Path, target: Path) -> None:
    """Move across directories (maybe file systems) so readers never see half a file."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            while chunk := src.read(CHUNK_SIZE):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
        source.unlink(missing_ok=True)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def storage_for(settings: Settings) -> Storage:
    return LocalStorage(settings.data_dir / "assets")
