"use strict";
// Starts GraphiQL against this server's /graphql (HTTP for queries and mutations,
// graphql-transport-ws for subscriptions). Only the query text is kept in the address
// bar (`?q=`), so a link can share it; variables and headers, which may hold passwords or
// tokens, stay in the page (and headers are not persisted to localStorage).
(function () {
  const endpoint = new URL("/graphql", window.location.href);
  const socket = new URL(endpoint);
  socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  const WELCOME = "# eventapi GraphiQL\n#\n# Ctrl-Enter runs the query, Ctrl-Space completes.\n" +
    "# Signed-in calls: add {\"Authorization\": \"Bearer <access token>\"} under Headers.\n\n" +
    "{\n  events(first: 5) {\n    totalCount\n    edges { node { id title slug } }\n  }\n}\n";

  const params = new URLSearchParams(window.location.search);
  const fetcher = GraphiQL.createFetcher({ url: endpoint.href, subscriptionUrl: socket.href });

  function rememberQuery(query) {
    const next = new URLSearchParams(window.location.search);
    if (query) next.set("q", query); else next.delete("q");
    const search = next.toString();
    window.history.replaceState(null, "", search ? "?" + search : window.location.pathname);
  }

  function App() {
    const explorer = React.useMemo(() => GraphiQLPluginExplorer.explorerPlugin(), []);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      query: params.get("q") || undefined,
      onEditQuery: rememberQuery,
      plugins: [explorer],
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
