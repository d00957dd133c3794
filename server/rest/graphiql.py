"""The GraphiQL page at `GET /graphql` (for a browser asking for HTML, while
`Settings.graphiql_enabled`). React, GraphiQL and its explorer plugin are vendored under
`server/static/vendor` (see the README there), so the page works without internet."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from server.rest.pages import html_page
from server.rest.static import static_url

ASSETS = {
    "icon": "pages/icon.svg",
    "graphiql_css": "vendor/graphiql-3.8.3/graphiql.min.css",
    "explorer_css": "vendor/graphiql-plugin-explorer-1.0.2/style.css",
    "page_css": "graphiql/page.css",
    "react_js": "vendor/react-18.2.0/react.production.min.js",
    "react_dom_js": "vendor/react-dom-18.2.0/react-dom.production.min.js",
    "graphiql_js": "vendor/graphiql-3.8.3/graphiql.min.js",
    "explorer_js": "vendor/graphiql-plugin-explorer-1.0.2/index.umd.js",
    "start_js": "graphiql/start.js",
}


def graphiql_page() -> HTMLResponse:
    # GraphiQL's stylesheet embeds its fonts and icons as data: URLs.
    return html_page(
        "graphiql.html",
        {marker: static_url(path) for marker, path in ASSETS.items()},
        images="'self' data:",
    )
