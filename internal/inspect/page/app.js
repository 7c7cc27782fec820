// The lambdaws inspector page: it follows the event stream at ./events and
// renders it. Everything shown is set with textContent, never as HTML: frames
// and events come from clients and functions.
"use strict";

const MAX_ROWS = 500;
const st = { conns: new Map(), invs: [], byReq: new Map(), logs: new Map(), manage: [], envs: new Map(), conn: null, inv: null };
const $ = (id) => document.getElementById(id);
let dirty = false;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
const time = (t) => new Date(t).toLocaleTimeString([], { hour12: false }) + "." + String(new Date(t).getMilliseconds()).padStart(3, "0");
const shortID = (id) => id || "";

function apply(e) {
  switch (e.kind) {
    case "conn": {
      const c = st.conns.get(e.conn) || { frames: [] };
      c.state = e;
      st.conns.set(e.conn, c);
      if (e.state === "closed") prune(st.conns, (c) => c.state.state === "closed", 100);
      break;
    }
    case "frame": {
      const c = st.conns.get(e.conn) || { state: { conn: e.conn, state: "open", time: e.time }, frames: [] };
      c.frames.push(e);
      if (c.frames.length > 32) c.frames.shift();
      c.state.in = e.in; c.state.out = e.out;
      st.conns.set(e.conn, c);
      break;
    }
    case "invoke":
      st.invs.push(e);
      if (e.request) st.byReq.set(e.request, e);
      if (st.invs.length > 2000) st.invs.shift();
      break;
    case "log": {
      const key = e.request || "";
      const lines = st.logs.get(key) || [];
      lines.push(e);
      st.logs.set(key, lines.slice(-200));
      break;
    }
    case "manage":
      st.manage.push(e);
      if (st.manage.length > 2000) st.manage.shift();
      break;
    case "env":
      st.envs.set(e.function + "#" + e.env, e);
      if (e.state === "stopped") prune(st.envs, (v) => v.state === "stopped", 50);
      break;
  }
  dirty = true;
}

// prune deletes the oldest entries of map m that match done, beyond keep.
function prune(m, done, keep) {
  const old = [...m.entries()].filter(([, v]) => done(v));
  for (const [k] of old.slice(0, Math.max(0, old.length - keep))) m.delete(k);
}

function reset(snap) {
  st.conns.clear(); st.invs = []; st.byReq.clear(); st.logs.clear(); st.manage = []; st.envs.clear();
  for (const c of snap.conns || []) st.conns.set(c.conn, { state: c, frames: [] });
  if (st.conn) loadFrames(st.conn);
  for (const e of snap.events || []) if (e.kind !== "conn") apply(e);
  dirty = true;
}

function render() {
  if (!dirty) return;
  dirty = false;
  renderConns(); renderConn(); renderInvs(); renderInv(); renderManage(); renderEnvs();
}

function rows(tbody, items, make) {
  const frag = document.createDocumentFragment();
  for (const it of items.slice(-MAX_ROWS).reverse()) frag.append(make(it));
  tbody.replaceChildren(frag);
}

function row(cells, attrs) {
  const tr = el("tr");
  for (const c of cells) {
    const td = el("td", c.text !== undefined ? c.text : c, c.cls);
    if (c.title) td.title = c.title;
    tr.append(td);
  }
  for (const [k, v] of Object.entries(attrs || {})) tr.dataset[k] = v;
  return tr;
}

function renderConns() {
  const list = [...st.conns.values()]; // in the order they opened
  rows($("conns").tBodies[0], list, (c) => {
    const s = c.state;
    let state = s.state;
    if (s.state !== "open") state += s.code ? " " + s.code + (s.reason ? " " + s.reason : "") : "";
    const tr = row([s.conn, time(s.time), s.sourceIp || "", { text: state, cls: "state-" + s.state }, (s.in || 0) + "/" + (s.out || 0)],
      { id: s.conn, state: s.state, in: s.in || 0, out: s.out || 0 });
    if (s.conn === st.conn) tr.className = "selected";
    tr.onclick = () => { st.conn = s.conn; loadFrames(s.conn); dirty = true; render(); };
    return tr;
  });
}

function renderConn() {
  const c = st.conns.get(st.conn);
  $("conn-id").textContent = c ? st.conn : "(select one)";
  $("post-send").disabled = $("disconnect").disabled = $("send-as").disabled = !c || c.state.state !== "open";
  const info = $("conn-info");
  info.replaceChildren();
  if (!c) { $("frames").replaceChildren(); return; }
  const s = c.state;
  const add = (k, v) => { if (v !== undefined && v !== "") info.append(el("dt", k), el("dd", v)); };
  add("opened", new Date(s.time).toISOString());
  add("source ip", s.sourceIp);
  add("query", s.query);
  if (s.authorizer) add("authorizer", JSON.stringify(s.authorizer));
  add("state", s.state + (s.code ? " " + s.code : "") + (s.reason ? " " + s.reason : ""));
  add("frames in/out", (s.in || 0) + "/" + (s.out || 0));
  const frag = document.createDocumentFragment();
  for (const f of c.frames.slice().reverse()) {
    const li = el("li", null, f.dir);
    li.dataset.dir = f.dir;
    li.append(el("span", time(f.time) + " " + f.size + " B" + (f.binary ? " binary" : ""), "meta"));
    if (f.note) li.append(el("span", "[" + f.note + "] ", /^(refused|not sent)/.test(f.note) ? "refused" : "meta"));
    li.append(el("span", f.binary ? f.data + (f.cut ? "…" : "") : f.data + (f.cut ? "… (cut)" : "")));
    frag.append(li);
  }
  $("frames").replaceChildren(frag);
}

// loadFrames fetches the frames kept of a connection; the stream brings
// the later ones.
async function loadFrames(id) {
  const r = await fetch("frames?conn=" + encodeURIComponent(id));
  if (!r.ok) return;
  const kept = await r.json();
  const c = st.conns.get(id);
  if (!c) return;
  const last = kept.length ? kept[kept.length - 1].seq : 0;
  c.frames = kept.concat(c.frames.filter((f) => f.seq > last)).slice(-32);
  dirty = true;
}

const statusClass = (s) => (s === 410 || s === 429 || s === 413 || s >= 500) ? "bad" : s >= 400 ? "warn" : "";

function renderInvs() {
  rows($("invocations").tBodies[0], st.invs, (e) => {
    const tr = row([time(e.time), e.route, e.function, e.cold ? "cold" : "warm", (e.ms || 0).toFixed(1),
      { text: (e.status || "–") + (e.error ? " ✖" : ""), cls: e.error ? "error" : statusClass(e.status), title: e.error || "" }, e.conn || ""],
      { route: e.route, status: e.status || 0, request: e.request || "", conn: e.conn || "" });
    if (e === st.inv) tr.className = "selected";
    tr.onclick = () => { st.inv = e; dirty = true; render(); };
    return tr;
  });
}

function pretty(s) {
  if (!s) return "";
  try { return JSON.stringify(JSON.parse(s), null, 2); } catch { return s; }
}

function renderInv() {
  const e = st.inv;
  $("inv-detail").hidden = !e;
  if (!e) return;
  $("inv-id").textContent = e.route + " " + (e.request || "");
  $("inv-error").textContent = e.error || "";
  $("inv-event").textContent = pretty(e.event);
  $("inv-response").textContent = pretty(e.response);
  const lines = (st.logs.get(e.request) || []).map((l) => time(l.time) + " " + l.function + "[" + l.env + "] " + l.line);
  $("inv-log").textContent = lines.length ? lines.join("\n") : "(no output lines: an in-process handler, or a function that printed nothing)";
}

function renderManage() {
  rows($("manage").tBodies[0], st.manage, (e) =>
    row([time(e.time), e.method, e.conn, { text: e.status || "–", cls: statusClass(e.status) }, e.size || 0, e.note || ""],
      { status: e.status || 0, method: e.method, conn: e.conn }));
}

function renderEnvs() {
  const list = [...st.envs.values()].sort((a, b) => a.function < b.function ? -1 : a.function > b.function ? 1 : a.env - b.env);
  rows($("envs").tBodies[0], list.reverse(), (e) =>
    row([e.function, e.env, { text: e.state, cls: "state-" + e.state }, time(e.time), e.reason || (e.cold ? "cold start" : "")],
      { function: e.function, state: e.state }));
}

// Actions.
async function act(path, body) {
  const r = await fetch(path + "?conn=" + encodeURIComponent(st.conn), { method: "POST", body });
  $("action-result").textContent = path + ": " + r.status;
  $("action-result").className = statusClass(r.status);
  return r.status;
}
$("post-send").onclick = () => act("post", $("post-data").value);
$("disconnect").onclick = () => act("disconnect", "");
$("send-as").onclick = () => act("send", $("send-data").value);

function download() {
  const e = st.inv;
  const blob = new Blob([pretty(e.event) + "\n"], { type: "application/json" });
  const a = el("a");
  a.href = URL.createObjectURL(blob);
  a.download = "event-" + (e.route || "").replace(/[^A-Za-z0-9_-]/g, "") + "-" + (e.request || e.seq) + ".json";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
$("inv-download").onclick = download;
$("inv-copy").onclick = () => navigator.clipboard.writeText(pretty(st.inv.event));

// The built-in client: a WebSocket from this page to the API.
let clients = 0;
$("client-new").onclick = () => {
  const q = $("client-query").value.replace(/^\?/, "");
  const url = location.origin.replace(/^http/, "ws") + "/" + (q ? "?" + q : "");
  const node = $("client-tpl").content.firstElementChild.cloneNode(true);
  const n = ++clients;
  node.dataset.client = n;
  node.querySelector(".name").textContent = "client " + n;
  const recv = node.querySelector(".recv");
  const state = node.querySelector(".cstate");
  const log = (text, cls) => { const li = el("li", text, cls); recv.prepend(li); };
  const ws = new WebSocket(url);
  ws.onopen = () => { state.textContent = "open"; node.dataset.state = "open"; };
  ws.onmessage = (m) => log(typeof m.data === "string" ? m.data : "(binary)", "out");
  ws.onclose = (c) => { state.textContent = "closed " + c.code + " " + c.reason; node.dataset.state = "closed"; };
  ws.onerror = () => { state.textContent = "error"; };
  node.querySelector(".send").onclick = () => { const v = node.querySelector(".msg").value; ws.send(v); log(v, "in"); };
  node.querySelector(".close").onclick = () => ws.close(1000, "");
  $("clients").prepend(node);
};

// The stream.
const es = new EventSource("events");
es.addEventListener("reset", (m) => { reset(JSON.parse(m.data)); document.body.dataset.state = "open"; $("status").textContent = "live"; });
es.onmessage = (m) => apply(JSON.parse(m.data));
es.onerror = () => { document.body.dataset.state = "reconnecting"; $("status").textContent = "reconnecting…"; };
setInterval(render, 100);
