"""`/static/...`: the vendored libraries and the pages' own files, with caching by digest,
gzip, and nothing served from outside the folder."""

from __future__ import annotations

import gzip
import hashlib
import re

import httpx

from server.rest.graphiql import ASSETS
from server.rest.static import ROOT, bundle, static_url

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_file_with_its_digest_is_cacheable_for_a_year(client: httpx.AsyncClient) -> None:
    url = static_url("vendor/react-18.2.0/react.production.min.js")

    response = await client.get(url, headers={"accept-encoding": "identity"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in response.headers
    expected = (ROOT / "vendor/react-18.2.0/react.production.min.js").read_bytes()
    assert response.content == expected
    assert url.endswith("?v=" + hashlib.sha256(expected).hexdigest()[:16])


async def test_without_the_current_digest_it_revalidates(client: httpx.AsyncClient) -> None:
    stale = await client.get("/static/graphiql/start.js?v=0000000000000000")
    assert stale.status_code == 200
    assert stale.headers["cache-control"] == "public, no-cache"

    again = await client.get(
        "/static/graphiql/start.js", headers={"if-none-match": stale.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_text_is_gzipped_for_clients_that_accept_it(client: httpx.AsyncClient) -> None:
    path = "vendor/graphiql-3.8.3/graphiql.min.js"
    response = await client.get(static_url(path), headers={"accept-encoding": "gzip"})

    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert int(response.headers["content-length"]) < len(bundle()[path].body) / 3
    assert response.content == bundle()[path].body  # httpx decoded it
    refused = await client.get(static_url(path), headers={"accept-encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert gzip.decompress(bundle()[path].gzipped or b"") == bundle()[path].body


async def test_licences_are_served_and_unknown_paths_are_not(client: httpx.AsyncClient) -> None:
    licence = await client.get("/static/vendor/graphiql-3.8.3/LICENSE")
    assert licence.status_code == 200 and "MIT License" in licence.text
    for path in (
        "/static/nope.js",
        "/static/../rest/static.py",
        "/static/%2e%2e/rest/static.py",
        "/static/vendor/",
        "/static/vendor/graphiql-3.8.3/graphiql.min.js.map",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "static.py" not in response.text
    assert (await client.get("/static/nope.js")).headers["cache-control"] == "no-store"


async def test_every_vendored_library_ships_its_licence() -> None:
    for folder in (ROOT / "vendor").iterdir():
        if folder.is_dir():
            assert (folder / "LICENSE").is_file(), folder.name


async def test_graphiql_links_only_this_servers_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": BROWSER_ACCEPT})

    assert page.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(links) == sorted(static_url(p) for p in ASSETS.values())
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    for link in links:
        assert (await client.get(link)).status_code == 200, link
