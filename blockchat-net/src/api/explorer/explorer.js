// The BlockChat explorer: reads the node's JSON-RPC API with the session cookie and shows it.
// Every value from the node is put on the page as text (textContent), never as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children.flat()) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const link = (route, text, cls) => el("a", { href: "#/" + route.map(encodeURIComponent).join("/"), class: cls || "" }, text);
const short = (hex) => hex.slice(0, 12) + "…";
const bcc = (amount) => amount.bcc + " BCC";
const when = (ns) => new Date(ns / 1e6).toISOString().replace("T", " ").replace("Z", " UTC");
const party = (p) => (p.id !== null && p.id !== undefined)
  ? link(["account", p.id], "node " + p.id)
  : (/^0+$/.test(p.address) ? "address 0" : link(["account", p.address], short(p.address), "hash"));

class ApiError extends Error {
  constructor(e) { super(e.message); this.code = e.code; this.data = e.data; }
}

let callId = 0;
async function rpc(method, params) {
  const answer = await fetch("/rpc", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method, params: params || {}, id: ++callId }),
  });
  if (answer.status === 401) { showLogin(); throw new Error("not signed in"); }
  if (!answer.ok) throw new Error("HTTP " + answer.status);
  const body = await answer.json();
  if (body.error) throw new ApiError(body.error);
  return body.result;
}

function showLogin(message) {
  $("login").hidden = false;
  $("main").hidden = true;
  $("login-error").textContent = message || "";
}

async function signIn(password) {
  const answer = await fetch("/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ password }),
  });
  if (answer.status !== 204) { showLogin("Wrong password."); return false; }
  $("login").hidden = true;
  $("main").hidden = false;
  return true;
}

function page(...children) {
  $("main").replaceChildren(...children);
}

function notFound(title, error) {
  page(el("div", { class: "notfound", id: "not-found" }, el("h2", {}, title), el("p", {}, error.message)));
}

function txTable(txs, withBlock) {
  const head = ["transaction", "from", "to", "what", "fee"].concat(withBlock ? ["block"] : []);
  const rows = txs.map((item) => {
    const t = item.transaction || item;
    const what = t.kind === "message" ? el("q", { class: "message" }, t.text)
      : t.kind === "stake" ? "stake " + bcc(t.amount) : bcc(t.amount);
    const cells = [link(["tx", t.id], short(t.id), "hash"), party(t.sender), t.kind === "stake" ? "—" : party(t.receiver), what, bcc(t.fee)];
    if (withBlock) cells.push(item.state === "committed" ? link(["block", item.height], "#" + item.height) : "pending");
    return el("tr", {}, cells.map((c) => el("td", {}, c)));
  });
  return el("table", { class: "txs" }, el("tr", {}, head.map((h) => el("th", {}, h))), rows);
}

function sharesChart(shares) {
  const width = 640, row = 26, left = 70, top = 8;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "chart");
  svg.setAttribute("width", width);
  svg.setAttribute("height", top + shares.length * row * 2 + 10);
  const max = Math.max(0.01, ...shares.map((s) => Math.max(s.stake_share, s.block_share)));
  shares.forEach((s, i) => {
    const y = top + i * row * 2;
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", 4); label.setAttribute("y", y + row);
    label.textContent = "node " + s.id;
    svg.append(label);
    [["stake", s.stake_share], ["blocks", s.block_share]].forEach(([cls, v], k) => {
      const bar = document.createElementNS(SVG, "rect");
      bar.setAttribute("class", cls);
      bar.setAttribute("x", left); bar.setAttribute("y", y + k * (row - 4));
      bar.setAttribute("height", row - 8);
      bar.setAttribute("width", Math.max(1, (width - left - 80) * v / max));
      svg.append(bar);
      const value = document.createElementNS(SVG, "text");
      value.setAttribute("x", left + 6 + (width - left - 80) * v / max);
      value.setAttribute("y", y + k * (row - 4) + row - 12);
      value.textContent = (100 * v).toFixed(1) + "%";
      svg.append(value);
    });
  });
  return svg;
}

async function home() {
  const status = await rpc("status");
  const from = Math.max(0, status.height - 19);
  const [blocks, mempool, shares] = await Promise.all([
    rpc("blocks", { from, limit: 20 }), rpc("mempool", { limit: 20 }), rpc("shares"),
  ]);
  const rows = blocks.reverse().map((b) => el("tr", { class: "block-row" },
    el("td", { class: "num" }, link(["block", b.height], String(b.height))),
    el("td", {}, link(["block", b.hash], short(b.hash), "hash")),
    el("td", {}, b.validator === null ? "genesis" : link(["account", b.validator], "node " + b.validator)),
    el("td", { class: "num" }, b.transactions),
    el("td", { class: "num" }, bcc(b.fees)),
    el("td", {}, when(b.timestamp_ns))));
  page(
    el("h2", {}, "Latest blocks"),
    el("table", { id: "blocks" }, el("tr", {}, ["height", "hash", "validator", "transactions", "fees", "time"].map((h) => el("th", {}, h))), rows),
    el("h2", {}, "Mempool (" + status.mempool + " pending)"),
    mempool.length ? txTable(mempool, false) : el("p", {}, "Nothing pending."),
    el("h2", {}, "Validators: share of blocks against share of stake"),
    el("p", { class: "legend" }, el("span", { class: "stake" }), "stake", el("span", { class: "blocks" }), "blocks validated"),
    sharesChart(shares),
  );
}

async function block(key) {
  const params = /^[0-9]+$/.test(key) ? { height: Number(key) } : { hash: key };
  let b;
  try { b = await rpc("block", params); } catch (e) { return notFound("Block not found", e); }
  page(
    el("h2", {}, "Block " + b.height),
    el("dl", { id: "block" },
      el("dt", {}, "hash"), el("dd", { class: "hash" }, b.hash),
      el("dt", {}, "previous"), el("dd", {}, b.height > 0 ? link(["block", b.previous], b.previous, "hash") : "—"),
      el("dt", {}, "validator"), el("dd", {}, b.validator ? party(b.validator) : "genesis"),
      el("dt", {}, "round"), el("dd", {}, b.round),
      el("dt", {}, "time"), el("dd", {}, when(b.timestamp_ns)),
      el("dt", {}, "fees"), el("dd", {}, bcc(b.fees))),
    el("h2", {}, b.transactions.length + " transactions"),
    txTable(b.transactions, false),
  );
}

async function transaction(id) {
  let found;
  try { found = await rpc("transaction", { id }); } catch (e) { return notFound("Transaction not found", e); }
  const t = found.transaction;
  page(
    el("h2", {}, "Transaction"),
    el("dl", { id: "transaction" },
      el("dt", {}, "id"), el("dd", { class: "hash" }, t.id),
      el("dt", {}, "state"), el("dd", {}, found.state === "committed"
        ? ["in block ", link(["block", found.height], "#" + found.height), " (" + found.confirmations + " confirmations)"] : "pending"),
      el("dt", {}, "from"), el("dd", {}, party(t.sender)),
      el("dt", {}, "to"), el("dd", {}, t.kind === "stake" ? "stake" : party(t.receiver)),
      el("dt", {}, "nonce"), el("dd", {}, t.nonce),
      el("dt", {}, t.kind === "message" ? "message" : "amount"),
      el("dd", {}, t.kind === "message" ? el("q", { class: "message" }, t.text) : bcc(t.amount)),
      el("dt", {}, "fee"), el("dd", {}, bcc(t.fee))),
  );
}

async function account(key) {
  const holder = /^[0-9]+$/.test(key) ? Number(key) : key;
  let a;
  try { a = await rpc("account", { holder }); } catch (e) { return notFound("Account not found", e); }
  page(
    el("h2", {}, a.id !== null ? "Account of node " + a.id : "Account"),
    el("dl", { id: "account" },
      el("dt", {}, "address"), el("dd", { class: "hash" }, a.address),
      el("dt", {}, "balance"), el("dd", {}, bcc(a.balance)),
      el("dt", {}, "stake"), el("dd", {}, bcc(a.stake)),
      el("dt", {}, "spendable"), el("dd", {}, bcc(a.spendable)),
      el("dt", {}, "next nonce"), el("dd", {}, a.next_nonce),
      el("dt", {}, "pending"), el("dd", {}, a.pending_transactions + " transactions spending " + bcc(a.pending_spends))),
  );
}

async function route() {
  const [name, key] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (name === "block" && key) await block(key);
    else if (name === "tx" && key) await transaction(key);
    else if (name === "account" && key) await account(key);
    else await home();
  } catch (e) {
    if (e.message !== "not signed in") page(el("p", { class: "error" }, "The node did not answer: " + e.message));
  }
}

async function refreshStatus() {
  try {
    const s = await rpc("status");
    $("node").textContent = "node " + (s.id === null ? "?" : s.id) + " (" + s.phase.replace(/_/g, " ") + ")";
    $("height").textContent = s.height;
    $("peers").textContent = s.peers_connected + " of " + Math.max(0, s.nodes - 1);
    $("mempool").textContent = s.mempool;
  } catch (_) { /* shown by the page */ }
}

let pending = null;
function follow() {
  const events = new EventSource("/events", { withCredentials: true });
  events.onopen = () => { $("live").textContent = "live"; $("live").className = "on"; };
  events.onerror = () => { $("live").textContent = "offline"; $("live").className = "off"; };
  events.addEventListener("block", (e) => {
    $("height").textContent = JSON.parse(e.data).height;
    // Many blocks a second: redraw at most twice a second.
    if (pending === null) pending = setTimeout(() => {
      pending = null;
      refreshStatus();
      if (!/^#\/(block|tx|account)\//.test(location.hash)) route();
    }, 500);
  });
}

function search(text) {
  const q = text.trim();
  if (/^[0-9]+$/.test(q) && Number(q) < 1e6) location.hash = "#/block/" + q;
  else if (/^[0-9a-f]{64}$/i.test(q)) {
    rpc("block", { hash: q }).then(() => { location.hash = "#/block/" + q; },
      () => { location.hash = "#/tx/" + q; });
  } else location.hash = "#/account/" + encodeURIComponent(q);
}

async function start() {
  $("search").addEventListener("submit", (e) => { e.preventDefault(); search($("query").value); });
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await signIn($("password").value)) { await refreshStatus(); follow(); route(); }
  });
  // A sign-in link opened on the open page: start over with it.
  window.addEventListener("hashchange", () => (/^#token=/.test(location.hash) ? location.reload() : route()));
  // A link with #token=SECRET signs in at once and drops the secret from the address bar.
  const token = location.hash.match(/^#token=(.+)$/);
  if (token) { history.replaceState(null, "", "#/"); if (!(await signIn(decodeURIComponent(token[1])))) return; }
  try { await rpc("status"); } catch (_) { return; }
  await refreshStatus();
  setInterval(refreshStatus, 2000);
  follow();
  route();
}

start();
