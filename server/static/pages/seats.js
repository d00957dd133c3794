// The seat picker: the date's seat map from the `seatAvailability` subscription (every seat
// first, then each seat whose state changes), the buyer's choice, and checkout through the
// API (createOrder with seatIds, paid in the same request with TEST where the server offers
// it).
import { addAmounts, formatMoney, idempotencyKey, live, request } from "./graphql.js";

const page = JSON.parse(document.getElementById("page-data").textContent);
const SEATS = "subscription Seats($o: ID!) { seatAvailability(occurrenceId: $o) " +
  "{ seat { id section row number } state } }";
const CREATE_ORDER = "mutation Order($input: CreateOrderInput!) { createOrder(input: $input) " +
  "{ order { id status total { amount currency } payments { reference clientSecret } } " +
  "errors { field message code } } }";
const ORDER = "query Order($id: ID!) { order(id: $id) { id status tickets { id seat { section row number } } } }";
const STATE_TEXT = { AVAILABLE: "available", HELD: "held", RESERVED: "taken", SOLD: "taken" };

const map = document.getElementById("map");
const connection = document.getElementById("connection");
const chosenList = document.getElementById("chosen");
const empty = document.getElementById("empty");
const total = document.getElementById("total");
const form = document.getElementById("checkout");
const email = document.getElementById("email");
const buy = document.getElementById("buy");
const message = document.getElementById("message");
const notice = document.getElementById("notice");
const dateChoice = document.getElementById("date-choice");
const dateSelect = document.getElementById("date");

const typeBySection = new Map();
for (const type of page.ticketTypes) {
  for (const section of type.sections) if (!typeBySection.has(section)) typeBySection.set(section, type);
}
let seats = new Map();     // seat id -> { seat, state, button }
let chosen = new Map();    // seat id -> seat
let subscription = null;
let busy = false;

buy.textContent = page.testPayments ? "Pay (test payment)" : "Reserve seats";

function showMessage(text) {
  message.hidden = !text;
  message.textContent = text || "";
}

function seatLabel(seat) {
  return "Section " + seat.section + ", row " + seat.row + ", seat " + seat.number;
}

function sectionBlock(section) {
  let block = map.querySelector('[data-section="' + CSS.escape(section) + '"]');
  if (block) return block;
  block = document.createElement("div");
  block.className = "section";
  block.dataset.section = section;
  const heading = document.createElement("h3");
  const type = typeBySection.get(section);
  heading.textContent = "Section " + section + (type ? " · " + type.name + " · " + formatMoney(type.price, type.currency) : " · not on sale");
  const rows = document.createElement("div");
  rows.className = "rows";
  rows.setAttribute("role", "group");
  rows.setAttribute("aria-label", "Section " + section);
  rows.addEventListener("keydown", moveFocus);
  block.append(heading, rows);
  map.appendChild(block);
  return block;
}

function rowLine(block, row) {
  const rows = block.querySelector(".rows");
  let line = rows.querySelector('[data-row="' + CSS.escape(row) + '"]');
  if (line) return line;
  line = document.createElement("div");
  line.className = "row";
  line.dataset.row = row;
  const label = document.createElement("span");
  label.className = "row-label";
  label.textContent = row;
  label.setAttribute("aria-hidden", "true");
  line.appendChild(label);
  rows.appendChild(line);
  return line;
}

function addSeat(entry) {
  const seat = entry.seat;
  const block = sectionBlock(seat.section);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "seat";
  button.dataset.seatId = seat.id;
  button.textContent = seat.number;
  button.tabIndex = block.querySelector("button.seat") ? -1 : 0;
  button.addEventListener("click", () => toggle(seat.id));
  rowLine(block, seat.row).appendChild(button);
  const record = { seat, state: entry.state, button };
  seats.set(seat.id, record);
  return record;
}

function paint(record) {
  const selected = chosen.has(record.seat.id);
  const forSale = typeBySection.has(record.seat.section);
  const shown = selected ? "SELECTED" : record.state;
  record.button.dataset.state = shown;
  // aria-disabled, not disabled: taken seats stay reachable with the arrow keys.
  record.button.setAttribute("aria-disabled", String(!selected && (record.state !== "AVAILABLE" || !forSale)));
  record.button.setAttribute("aria-pressed", String(selected));
  record.button.setAttribute("aria-label", seatLabel(record.seat) + ", " +
    (selected ? "chosen" : forSale ? STATE_TEXT[record.state] || record.state : "not on sale"));
}

function onSeat(data) {
  const entry = data.seatAvailability;
  if (map.getAttribute("aria-busy") === "true") {
    map.replaceChildren();
    map.setAttribute("aria-busy", "false");
  }
  const record = seats.get(entry.seat.id) || addSeat(entry);
  const was = record.state;
  record.state = entry.state;
  if (entry.state !== "AVAILABLE" && chosen.has(entry.seat.id) && !busy) {
    chosen.delete(entry.seat.id);
    notice.textContent = seatLabel(entry.seat) + " was just taken by someone else.";
    renderBasket();
  }
  if (was !== entry.state || !record.button.dataset.state) paint(record);
}

function toggle(seatId) {
  const record = seats.get(seatId);
  if (!record || busy) return;
  showMessage("");
  if (chosen.has(seatId)) {
    chosen.delete(seatId);
  } else {
    if (record.state !== "AVAILABLE") return;
    const type = typeBySection.get(record.seat.section);
    if (!type) return;
    const sameType = [...chosen.values()].filter((s) => typeBySection.get(s.section) === type).length;
    if (sameType >= type.maxPerOrder) {
      showMessage("At most " + type.maxPerOrder + " " + type.name + " seats per order.");
      return;
    }
    chosen.set(seatId, record.seat);
  }
  paint(record);
  renderBasket();
}

function renderBasket() {
  chosenList.replaceChildren();
  const prices = [];
  for (const seat of chosen.values()) {
    const type = typeBySection.get(seat.section);
    prices.push(type.price);
    const item = document.createElement("li");
    item.textContent = seatLabel(seat) + " · " + formatMoney(type.price, type.currency);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove " + seatLabel(seat));
    remove.addEventListener("click", () => toggle(seat.id));
    item.appendChild(remove);
    chosenList.appendChild(item);
  }
  empty.hidden = chosen.size > 0;
  const currency = page.ticketTypes[0].currency;
  total.textContent = chosen.size ? formatMoney(addAmounts(prices), currency) : "–";
  buy.disabled = chosen.size === 0 || busy;
}

// One tab stop per section; arrow keys move along a row and between rows.
function moveFocus(event) {
  const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  const move = moves[event.key];
  const current = event.target.closest("button.seat");
  if (!move || !current) return;
  event.preventDefault();
  const lines = [...event.currentTarget.querySelectorAll(".row")];
  const lineIndex = lines.indexOf(current.parentElement);
  const inLine = [...current.parentElement.querySelectorAll("button.seat")];
  const seatIndex = inLine.indexOf(current);
  const targetLine = lines[Math.max(0, Math.min(lines.length - 1, lineIndex + move[0]))];
  const targetSeats = [...targetLine.querySelectorAll("button.seat")];
  const target = targetSeats[Math.max(0, Math.min(targetSeats.length - 1, seatIndex + move[1]))];
  if (target && target !== current) {
    current.tabIndex = -1;
    target.tabIndex = 0;
    target.focus();
  }
}

function itemsOfChoice() {
  const byType = new Map();
  for (const seat of chosen.values()) {
    const type = typeBySection.get(seat.section);
    if (!byType.has(type.id)) byType.set(type.id, []);
    byType.get(type.id).push(seat.id);
  }
  return [...byType].map(([ticketTypeId, seatIds]) => ({ ticketTypeId, quantity: seatIds.length, seatIds }));
}

function firstError(errors) {
  const error = errors[0];
  if (error.code === "SOLD_OUT") return error.message + " Choose other seats.";
  return error.message;
}

async function payWithTest(order) {
  // The buyer "pays": the TEST provider's page would do this with the client secret.
  const [payment] = order.payments;
  const response = await fetch("/payments/test/" + encodeURIComponent(payment.reference) + "/succeed", {
    method: "POST", headers: { "content-type": "application/json" }, credentials: "same-origin",
    body: JSON.stringify({ clientSecret: payment.clientSecret }),
  });
  if (!response.ok) throw new Error("The test payment was refused (" + response.status + ").");
  return (await request(ORDER, { id: order.id })).order;
}

function showDone(order) {
  const done = document.createElement("div");
  done.className = "done";
  done.id = "done";
  done.setAttribute("role", "status");
  const heading = document.createElement("h3");
  const confirmed = order.status === "CONFIRMED";
  heading.textContent = confirmed ? "Order confirmed" : "Seats reserved";
  const detail = document.createElement("p");
  detail.textContent = confirmed
    ? "Your " + order.tickets.length + " ticket(s) are on their way to " + email.value.trim() + ". Order " + order.id + "."
    : "Order " + order.id + " holds your seats until it is paid.";
  done.dataset.orderId = order.id;
  done.dataset.status = order.status;
  done.append(heading, detail);
  form.after(done);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (busy || chosen.size === 0) return;
  if (!email.checkValidity() || !email.value.trim()) {
    showMessage("Enter the email address your tickets should go to.");
    email.focus();
    return;
  }
  busy = true;
  buy.disabled = true;
  buy.textContent = "Working…";
  showMessage("");
  document.getElementById("done")?.remove();
  try {
    const input = {
      eventId: page.eventId, occurrenceId: dateSelect.value, items: itemsOfChoice(),
      buyerEmail: email.value.trim(), idempotencyKey: idempotencyKey(),
    };
    if (page.testPayments) input.payment = { provider: "TEST" };  // checkout in one request
    const placed = (await request(CREATE_ORDER, { input })).createOrder;
    if (placed.errors.length && !placed.order) throw new Error(firstError(placed.errors));
    if (placed.errors.length) {  // placed, but the payment could not start: pay later
      chosen = new Map();
      showDone(placed.order);
      throw new Error(firstError(placed.errors));
    }
    const order = page.testPayments ? await payWithTest(placed.order) : placed.order;
    chosen = new Map();
    showDone(order);
  } catch (error) {
    showMessage(error.message);
    // Seats taken meanwhile: the live map has them already; drop them from the choice.
    for (const id of [...chosen.keys()]) if (seats.get(id).state !== "AVAILABLE") chosen.delete(id);
  } finally {
    busy = false;
    buy.textContent = page.testPayments ? "Pay (test payment)" : "Reserve seats";
    for (const record of seats.values()) paint(record);
    renderBasket();
  }
});

function showConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
  if (state === "error") {
    map.setAttribute("aria-busy", "false");
    map.replaceChildren();
    const failed = document.createElement("p");
    failed.className = "message";
    failed.textContent = "The seat map is not available: " + text;
    map.appendChild(failed);
  }
}

function watch(occurrenceId) {
  if (subscription) subscription.close();
  seats = new Map();
  chosen = new Map();
  renderBasket();
  map.setAttribute("aria-busy", "true");
  map.replaceChildren();
  const loading = document.createElement("p");
  loading.className = "loading";
  loading.textContent = "Loading the seat map…";
  map.appendChild(loading);
  subscription = live({ query: SEATS, variables: { o: occurrenceId }, onData: onSeat, onStatus: showConnection });
}

for (const [id, label] of Object.entries(page.dates)) {
  const option = document.createElement("option");
  option.value = id;
  option.textContent = label;
  dateSelect.appendChild(option);
}
dateChoice.hidden = dateSelect.options.length < 2;
dateSelect.addEventListener("change", () => watch(dateSelect.value));
watch(dateSelect.value);
