// The organizer's dashboard: sign in (the refresh cookie, else the form), check that the
// viewer belongs to the organization in the address, then draw the event's analytics from
// the `eventAnalytics` subscription (a snapshot, then a new one after every change). The
// access token lives in this page's memory only, never in the address or in storage.
import { ApiError, formatMoney, live, request } from "./graphql.js";
import { bars, line, shares } from "./charts.js";

const page = JSON.parse(document.getElementById("page-data").textContent);
const $ = (id) => document.getElementById(id);

const ME = "query Me { me { id email name organizations { role organization { id slug name } } } }";
const EVENT = "query Event($slug: String!) { event(slug: $slug) { id title slug status " +
  "organization { id slug } occurrences { id startsAt } ticketTypes { id name quantity } } }";
const LOGIN = "mutation Login($input: LoginInput!) { login(input: $input) " +
  "{ accessToken expiresAt errors { field message code } } }";
const LOGOUT = "mutation { logout }";
const ANALYTICS = `subscription Analytics($eventId: ID!, $occurrenceId: ID, $interval: AnalyticsInterval!) {
  eventAnalytics(eventId: $eventId, occurrenceId: $occurrenceId) {
    ordersConfirmed ordersPending ordersExpired ordersCancelled ticketsSold checkedIn waitlisted sellThrough
    gross { amount currency } discounts { amount currency } fees { amount currency }
    refunds { amount currency } net { amount currency }
    sales(interval: $interval) { at orders tickets gross { amount currency } refunds { amount currency } }
    byTicketType { ticketType { id name quantity } sold reserved gross { amount currency } }
    checkIns(interval: $interval) { at checkIns }
  }
}`;

let session = null;        // { token, expiresAt }
let refreshTimer = null;
let subscription = null;
let event = null;

function show(view) {
  for (const id of ["signin", "denied", "board", "starting"]) $(id).hidden = id !== view;
}

function deny(text) {
  if (subscription) subscription.close();
  $("denied-text").textContent = text;
  show("denied");
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5000, new Date(session.expiresAt).getTime() - Date.now() - 60000);
  refreshTimer = setTimeout(async () => {
    if (!(await refresh())) {
      if (subscription) subscription.close();
      showSignIn("Your session has ended. Sign in again.");
    }
  }, wait);
}

async function refresh() {
  try {
    const response = await fetch("/auth/refresh", {
      method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: "{}",
    });
    if (!response.ok) return false;
    const body = await response.json();
    session = { token: body.accessToken, expiresAt: body.expiresAt };
    scheduleRefresh();
    return true;
  } catch (_) {
    return false;
  }
}

function showSignIn(text = "") {
  session = null;
  $("signin-error").textContent = text;
  $("signin-error").hidden = !text;
  show("signin");
  $("email").focus();
}

$("signin-form").addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const email = $("email").value.trim(), password = $("password").value;
  if (!email || !password) return showSignIn("Enter your email and password.");
  $("signin-button").disabled = true;
  try {
    const result = (await request(LOGIN, { input: { email, password } })).login;
    if (result.errors.length || !result.accessToken) {
      return showSignIn(result.errors.length ? result.errors[0].message : "Sign-in failed.");
    }
    session = { token: result.accessToken, expiresAt: result.expiresAt };
    $("password").value = "";
    scheduleRefresh();
    await open();
  } catch (error) {
    showSignIn(error.message);
  } finally {
    $("signin-button").disabled = false;
  }
});

$("signout").addEventListener("click", async () => {
  if (subscription) subscription.close();
  try { await request(LOGOUT, {}, { token: session && session.token }); } catch (_) { /* signed out anyway */ }
  clearTimeout(refreshTimer);
  showSignIn("You have signed out.");
});

async function open() {
  show("starting");
  try {
    const me = (await request(ME, {}, { token: session.token })).me;
    if (!me) return showSignIn("Sign in to see this dashboard.");
    $("viewer").textContent = me.name || me.email;
    const membership = me.organizations.find((m) => m.organization.slug === page.organization);
    if (!membership) {
      return deny("You are not a member of the organization “" + page.organization + "”. " +
        "Ask one of its owners to add you.");
    }
    const found = (await request(EVENT, { slug: page.event }, { token: session.token })).event;
    if (!found || found.organization.id !== membership.organization.id) {
      return deny(membership.organization.name + " has no event “" + page.event + "”.");
    }
    event = found;
    $("event-title").textContent = event.title;
    $("organization-name").textContent = membership.organization.name + " · " + membership.role.toLowerCase();
    document.title = event.title + " · dashboard";
    fillDates();
    show("board");
    watch();
  } catch (error) {
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED") return showSignIn("Sign in again.");
    deny("The dashboard could not be opened: " + error.message);
  }
}

function fillDates() {
  const select = $("date");
  select.replaceChildren(new Option("All dates", ""));
  for (const o of event.occurrences) {
    select.appendChild(new Option(new Date(o.startsAt).toLocaleString(undefined,
      { dateStyle: "medium", timeStyle: "short" }), o.id));
  }
  $("date-choice").hidden = event.occurrences.length < 2;
}

function watch() {
  if (subscription) subscription.close();
  lastWaitlisted = null;
  $("board").setAttribute("aria-busy", "true");
  subscription = live({
    query: ANALYTICS,
    variables: { eventId: event.id, occurrenceId: $("date").value || null, interval: $("interval").value },
    token: () => session && session.token,
    onData: (data) => render(data.eventAnalytics),
    onStatus: (state, text, error) => {
      $("connection").dataset.state = state;
      $("connection").textContent = text;
      const code = error && error.extensions && error.extensions.code;
      if (code === "UNAUTHENTICATED") showSignIn("Your session has ended. Sign in again.");
      else if (code === "NOT_FOUND" || code === "FORBIDDEN") deny("You may not see this event's figures.");
    },
  });
}

$("interval").addEventListener("change", watch);
$("date").addEventListener("change", watch);

const money = (m) => formatMoney(m.amount, m.currency);

const countTick = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

function compactMoney(value, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency, notation: "compact", maximumFractionDigits: 1 }).format(value);
  } catch (_) {
    return String(value);
  }
}

function pointLabel(at, interval) {
  const d = new Date(at);
  if (interval === "MINUTE" || interval === "HOUR") return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

let lastAnalytics = null;
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (lastAnalytics && !$("board").hidden) render(lastAnalytics); }, 150);
});

function render(a) {
  lastAnalytics = a;
  $("board").setAttribute("aria-busy", "false");
  const interval = $("interval").value;
  const unit = $("interval").selectedOptions[0].textContent.toLowerCase();
  const tiles = {
    gross: money(a.gross), net: money(a.net), refunds: money(a.refunds), fees: money(a.fees),
    discounts: money(a.discounts), tickets: String(a.ticketsSold), checked: String(a.checkedIn),
    waitlisted: String(a.waitlisted), sellthrough: Math.round(a.sellThrough * 100) + "%",
    orders: `${a.ordersConfirmed} confirmed · ${a.ordersPending} pending · ${a.ordersCancelled + a.ordersExpired} cancelled or expired`,
  };
  for (const [key, text] of Object.entries(tiles)) $("tile-" + key).textContent = text;
  const currency = a.gross.currency;
  const when = (p) => new Date(p.at).toLocaleString();
  bars($("sales-chart"), a.sales.map((p) => ({ label: pointLabel(p.at, interval), title: when(p), value: p.tickets })),
    { label: "Tickets sold per " + unit, tick: countTick, emptyText: "No sales yet." });
  let running = 0;
  line($("revenue-chart"), a.sales.map((p) => {
    running += Number(p.gross.amount) - Number(p.refunds.amount);
    return { label: pointLabel(p.at, interval), title: when(p), value: Math.round(running * 100) / 100 };
  }), { label: "Revenue after refunds", format: (v) => formatMoney(v, currency), tick: (v) => compactMoney(v, currency),
    emptyText: "No revenue yet." });
  shares($("types-chart"), a.byTicketType.map((t) => ({
    label: t.ticketType.name,
    value: t.ticketType.quantity ? t.sold / t.ticketType.quantity : 0,
    detail: `${t.sold} sold, ${t.reserved} reserved of ${t.ticketType.quantity} · ${money(t.gross)}`,
  })));
  bars($("checkins-chart"), a.checkIns.map((p) => ({ label: pointLabel(p.at, interval), title: when(p), value: p.checkIns })),
    { label: "Check-ins per " + unit, tick: countTick, emptyText: "No check-ins yet." });
  $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
  if (a.waitlisted !== lastWaitlisted) {
    lastWaitlisted = a.waitlisted;
    loadWaitlist();
  }
}

// The people waiting (and those holding an offer), per ticket type: one request with an
// alias per type, read again whenever the snapshot's waitlist count moves.
const WAITLIST_LIMIT = 50;
let lastWaitlisted = null;
let waitlistRead = Promise.resolve();

function loadWaitlist() {
  waitlistRead = waitlistRead.then(readWaitlist, readWaitlist);
}

async function readWaitlist() {
  const types = event.ticketTypes;
  if (!types.length || !session) return;
  const occurrenceId = $("date").value || null;
  const parts = types.map((_, i) => `t${i}: waitlist(ticketTypeId: $t${i}, occurrenceId: $o, first: ${WAITLIST_LIMIT}) ` +
    "{ id status position quantity email offerExpiresAt }");
  const query = "query Waitlist($o: ID, " + types.map((_, i) => `$t${i}: ID!`).join(", ") + ") { " + parts.join(" ") + " }";
  const variables = { o: occurrenceId };
  types.forEach((t, i) => { variables["t" + i] = t.id; });
  let data;
  try {
    data = await request(query, variables, { token: session.token });
  } catch (error) {
    $("waitlist-empty").textContent = "The waitlist could not be read: " + error.message;
    $("waitlist-empty").hidden = false;
    return;
  }
  const body = $("waitlist").querySelector("tbody");
  body.replaceChildren();
  types.forEach((type, i) => {
    for (const entry of data["t" + i] || []) {
      if (entry.status !== "WAITING" && entry.status !== "OFFERED") continue;
      const row = document.createElement("tr");
      row.dataset.status = entry.status;
      const cells = [type.name, entry.position == null ? "–" : String(entry.position), entry.status.toLowerCase(),
        String(entry.quantity), entry.email, entry.offerExpiresAt ? new Date(entry.offerExpiresAt).toLocaleString() : ""];
      cells.forEach((text, c) => {
        const cell = document.createElement("td");
        if (c === 1 || c === 3) cell.className = "number";
        cell.textContent = text;
        row.appendChild(cell);
      });
      body.appendChild(row);
    }
  });
  $("waitlist").hidden = body.children.length === 0;
  $("waitlist-empty").textContent = "Nobody is waiting.";
  $("waitlist-empty").hidden = body.children.length > 0;
}

(async () => {
  if (await refresh()) await open();
  else showSignIn();
})();
