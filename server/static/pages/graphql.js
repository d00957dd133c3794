// The platform's pages talk to /graphql with these two helpers: `request` for queries and
// mutations over HTTP, `live` for one subscription over graphql-transport-ws that
// reconnects by itself (each new subscription starts with a full snapshot, so nothing
// missed while the socket was down stays missed).

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const OFFLINE = "The server cannot be reached. Check your connection and try again.";

export async function request(query, variables = {}, { token = null } = {}) {
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  if (token) headers.authorization = "Bearer " + token;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST", headers, credentials: "same-origin",
      body: JSON.stringify({ query, variables }),
    });
  } catch (_) {
    throw new ApiError("NETWORK", OFFLINE);
  }
  let body;
  try {
    body = await response.json();
  } catch (_) {
    throw new ApiError("HTTP_" + response.status, "The server answered " + response.status + ".");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError((first.extensions && first.extensions.code) || "ERROR", first.message);
  }
  return body.data;
}

// Calls `onData(data)` for every `next`, `onStatus(state, text)` as the connection comes and
// goes ("connecting", "live", "error", "ended"). `token()` is asked at every (re)connect.
export function live({ query, variables, token = () => null, onData, onStatus = () => {} }) {
  let socket = null;
  let retry = 0;
  let stopped = false;
  let finished = false;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + "/graphql", "graphql-transport-ws");
    const send = (message) => socket.send(JSON.stringify(message));
    socket.onopen = () => {
      const current = token();
      send({ type: "connection_init", payload: current ? { authorization: "Bearer " + current } : {} });
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connection_ack") {
        retry = 0;
        onStatus("live", "live");
        send({ id: "1", type: "subscribe", payload: { query, variables } });
      } else if (message.type === "next") {
        const payload = message.payload || {};
        if (payload.errors && payload.errors.length) {
          finished = true;
          onStatus("error", payload.errors.map((e) => e.message).join("; "), payload.errors[0]);
        } else if (payload.data) {
          onData(payload.data);
        }
      } else if (message.type === "ping") {
        send({ type: "pong" });
      } else if (message.type === "error") {
        finished = true;
        const errors = message.payload || [];
        onStatus("error", errors.map((e) => e.message).join("; "), errors[0]);
      } else if (message.type === "complete") {
        finished = true;
        onStatus("ended", "no longer available");
      }
    };
    socket.onclose = () => {
      if (stopped || finished) return;
      const delay = Math.min(10000, 500 * 2 ** retry++) * (0.5 + Math.random());
      onStatus("connecting", "reconnecting…");
      setTimeout(connect, delay);
    };
  }

  connect();
  return {
    close() {
      stopped = true;
      if (socket) socket.close();
    },
  };
}

export function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Minor-unit-free money arithmetic on decimal strings ("25.00"): sums stay exact.
export function addAmounts(amounts) {
  let scale = 0;
  for (const a of amounts) scale = Math.max(scale, (a.split(".")[1] || "").length);
  let total = 0n;
  for (const a of amounts) {
    const [whole, fraction = ""] = a.split(".");
    total += BigInt(whole + fraction.padEnd(scale, "0"));
  }
  const text = total.toString().padStart(scale + 1, "0");
  return scale ? text.slice(0, -scale) + "." + text.slice(-scale) : text;
}

export function formatMoney(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(Number(amount));
  } catch (_) {
    return amount + " " + currency;
  }
}
