/* app.js — ntpmon-web's page: the server list with live scores, a server's score history graph (drawn here as SVG)
 * updating live, its monitors and latest results, and the check form showing each monitor's answer as it streams
 * in. One page, routed on the client (/, /scores/{ip|id}, /check); live data over EventSource streams that are
 * reopened with backoff whenever they fail, and the data refetched after each reopening, so the page can stay open
 * for hours. Untrusted text only ever goes into the DOM as text. */
"use strict";

const $ = (sel) => document.querySelector(sel);

/* An element with attributes and children (strings become text nodes). */
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "style") Object.assign(e.style, v); /* through the CSSOM: the page's CSP allows no inline styles */
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

async function getJSON(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({ error: resp.statusText }));
  if (!resp.ok) throw new Error(body.error || resp.statusText);
  return body;
}

const fmtScore = (s) => (s === null || s === undefined ? "–" : Number(s).toFixed(2));
const fmtMs = (s) => (s === null || s === undefined ? "–" : (s * 1000).toFixed(3));
const fmtTime = (t) => new Date(t * 1000).toLocaleTimeString([], { hour12: false });
const epoch = (rfc3339) => Date.parse(rfc3339) / 1000;

/* ---------- live streams ---------- */

/* An EventSource that is reopened (1 s, 2 s, … 30 s) whenever it ends for good, e.g. after a 503; onOpen runs on
 * every (re)opening so the view can refetch what it may have missed. */
class LiveStream {
  constructor(url, handlers, onOpen) {
    this.url = url;
    this.handlers = handlers;
    this.onOpen = onOpen;
    this.backoff = 1000;
    this.timer = null;
    this.es = null;
    this.stopped = false;
    this.open();
  }
  open() {
    if (this.stopped) return;
    const es = new EventSource(this.url);
    this.es = es;
    setLive("connecting");
    es.onopen = () => {
      this.backoff = 1000;
      setLive("open");
      if (this.onOpen) this.onOpen();
    };
    for (const [name, fn] of Object.entries(this.handlers)) {
      es.addEventListener(name, (ev) => {
        let data;
        try { data = JSON.parse(ev.data); } catch { return; }
        fn(data);
      });
    }
    es.onerror = () => {
      if (this.stopped) return;
      setLive("retrying");
      if (es.readyState === EventSource.CLOSED) { /* the browser gave up: we do not */
        es.close();
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.open(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 30000);
      }
    };
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
  }
}

function setLive(state) {
  const e = $("#live");
  e.dataset.state = state;
  e.textContent = state === "open" ? "live" : state === "retrying" ? "reconnecting…" : "connecting…";
}

/* ---------- views ---------- */

let current = null; /* the active view: { leave() } */

function show(id) {
  for (const s of document.querySelectorAll("main > section")) s.hidden = s.id !== id;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("current", a.getAttribute("href") === location.pathname);
}

/* The server list: scores from /api/servers, kept current by the every-server stream. */
function listView() {
  show("view-list");
  document.title = "ntpmon — servers";
  const tbody = $("#servers tbody");
  const rows = new Map(); /* server id -> {score, pool} cells */
  const load = async () => {
    try {
      const servers = await getJSON("/api/servers");
      $("#servers-error").hidden = true;
      tbody.replaceChildren();
      rows.clear();
      for (const s of servers) {
        const score = h("td", { class: "num score" }, fmtScore(s.score));
        const pool = h("td", {}, poolBadge(s.in_pool));
        const tr = h("tr", { "data-id": s.id },
          h("td", {}, h("a", { href: `/scores/${s.ip}`, "data-nav": true }, s.ip)),
          score, pool, h("td", {}, s.active.join(", ") || "–"), h("td", {}, s.testing.join(", ") || "–"));
        rows.set(s.id, { tr, score, pool });
        tbody.append(tr);
      }
    } catch (e) {
      $("#servers-error").textContent = `Could not load the servers: ${e.message}`;
      $("#servers-error").hidden = false;
    }
  };
  const loadMonitors = async () => {
    try {
      const mons = await getJSON("/api/monitors/online");
      $("#monitors").replaceChildren(...mons.map((m) =>
        h("li", { title: `${m.version}; last status ${m.last_seen}` },
          `${m.name} (${[m.ipv4 && "IPv4", m.ipv6 && "IPv6"].filter(Boolean).join(", ") || "no family"})`)));
    } catch (e) {
      $("#monitors").replaceChildren(h("li", { class: "error" }, e.message));
    }
  };
  const update = (id, score, inPool) => {
    const r = rows.get(id);
    if (!r) return;
    if (score !== undefined) r.score.textContent = fmtScore(score);
    r.pool.replaceChildren(poolBadge(inPool));
    r.tr.classList.remove("flash");
    void r.tr.offsetWidth; /* restart the highlight */
    r.tr.classList.add("flash");
  };
  const stream = new LiveStream("/api/scores/stream", {
    score: (d) => update(d.server_id, d.score, d.in_pool),
    status: (d) => update(d.server_id, undefined, d.in_pool),
  }, load);
  loadMonitors();
  const timers = [setInterval(load, 60000), setInterval(loadMonitors, 30000)];
  return { leave() { stream.stop(); timers.forEach(clearInterval); } };
}

function poolBadge(inPool) {
  return h("span", { class: `badge ${inPool ? "in" : "out"}` }, inPool ? "in pool" : "out");
}

/* One server: its history graph, monitors and results, live. */
function serverView(key) {
  show("view-server");
  document.title = `ntpmon — ${key}`;
  const base = `/api/server/scores/${encodeURIComponent(key)}`;
  $("#server-ip").textContent = key;
  $("#server-id").textContent = "";
  $("#server-score").textContent = "–";
  $("#server-score").dataset.ts = "";
  $("#server-pool").replaceChildren();
  $("#server-updated").textContent = "";
  $("#csv-link").href = `${base}/log?monitor=*&limit=1000`;
  $("#json-link").href = `${base}/json?monitor=*&limit=1000`;
  $("#check-this").href = `/check?ip=${encodeURIComponent(key)}`;
  $("#results tbody").replaceChildren();
  $("#server-monitors tbody").replaceChildren();
  const state = { history: [], monitors: [], byName: new Map(), live: [], liveOffsets: [] };
  let drawPending = false;
  const redraw = () => {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; drawGraph($("#graph"), state); });
  };
  const setScore = (score, ts, inPool) => {
    const e = $("#server-score");
    if (e.dataset.ts && Number(e.dataset.ts) > ts) return;
    e.textContent = fmtScore(score);
    e.dataset.ts = String(ts);
    if (inPool !== undefined) $("#server-pool").replaceChildren(poolBadge(inPool));
    $("#server-updated").textContent = `at ${fmtTime(ts)}`;
  };
  const load = async () => {
    try {
      const d = await getJSON(`${base}/json?monitor=*&limit=3000`);
      $("#server-error").hidden = true;
      $("#server-ip").textContent = d.server.ip;
      $("#server-id").textContent = `#${d.server.id}`;
      document.title = `ntpmon — ${d.server.ip}`;
      state.history = d.history;
      state.monitors = d.monitors;
      state.byName = new Map(d.monitors.map((m) => [m.name, m]));
      /* live points older than the fresh history are in it now */
      const newest = d.history.length ? d.history[0].ts : 0;
      state.live = state.live.filter((p) => p.ts > newest);
      state.liveOffsets = state.liveOffsets.filter((p) => p.ts > newest);
      const overall = d.history.find((r) => r.monitor_id === 0);
      if (overall) setScore(overall.score, overall.ts);
      $("#server-monitors tbody").replaceChildren(...d.monitors.map((m) =>
        h("tr", {}, h("td", {}, h("i", { class: "swatch", style: { background: monitorColor(m.id) } }), m.name),
          h("td", {}, m.status || "–"), h("td", { class: "num" }, fmtScore(m.score)),
          h("td", {}, m.ts ? new Date(m.ts).toLocaleString([], { hour12: false }) : "–"))));
      redraw();
    } catch (e) {
      $("#server-error").textContent = `Could not load the history: ${e.message}`;
      $("#server-error").hidden = false;
    }
  };
  let refetch = null;
  const soon = () => { clearTimeout(refetch); refetch = setTimeout(load, 2000); };
  const addResult = (r) => {
    const ts = epoch(r.ts);
    const tbody = $("#results tbody");
    tbody.prepend(h("tr", { class: "flash" }, h("td", {}, fmtTime(ts)), h("td", {}, r.monitor),
      h("td", { class: `num ${offsetClass(r.offset)}` }, fmtMs(r.offset)), h("td", { class: "num" }, fmtMs(r.rtt)),
      h("td", {}, r.stratum), h("td", { class: r.error ? "bad" : "" }, r.error || "")));
    while (tbody.rows.length > 20) tbody.deleteRow(-1);
    const m = state.byName.get(r.monitor);
    if (!m) { soon(); return; } /* a monitor new to this server: its rows come with the history */
    if (r.offset !== undefined) state.liveOffsets.push({ ts, offset: r.offset, monitor_id: m.id });
    redraw();
  };
  const stream = new LiveStream(`${base}/stream`, {
    score: (d) => {
      const ts = epoch(d.ts);
      setScore(d.score, ts, d.in_pool);
      state.live.push({ ts, score: d.score, monitor_id: 0 });
      redraw();
    },
    status: (d) => $("#server-pool").replaceChildren(poolBadge(d.in_pool)),
    selection: () => soon(),
    result: addResult,
  }, load);
  const onResize = () => redraw();
  window.addEventListener("resize", onResize);
  const timer = setInterval(load, 60000); /* per-monitor scores and statuses come with the history */
  return {
    leave() {
      stream.stop();
      clearInterval(timer);
      clearTimeout(refetch);
      window.removeEventListener("resize", onResize);
    },
  };
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const monitorColor = (id) => PALETTE[id % PALETTE.length];
const offsetClass = (o) => (o === undefined || o === null ? "" : Math.abs(o) < 0.01 ? "good" : Math.abs(o) < 0.1 ? "warn" : "bad");
const offsetColor = (o) => (Math.abs(o) < 0.01 ? "#1a7f37" : Math.abs(o) < 0.1 ? "#d08700" : "#c62828");

/* A "nice" step for about n ticks over a range. */
function niceStep(range, n) {
  const raw = range / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/* The pool's graph, drawn here: each monitor's score and the overall score over time (left axis), each result's
 * offset as a dot (right axis, ms; green under 10 ms, orange under 100 ms, red beyond), and the in-pool line at 10. */
function drawGraph(el, state) {
  const W = Math.max(320, el.clientWidth || 800), H = Math.max(180, el.clientHeight || 320);
  el.setAttribute("viewBox", `0 0 ${W} ${H}`);
  el.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const m = { l: 40, r: 54, t: 10, b: 24 };
  const rows = state.history.concat(state.live);
  const offs = state.history.filter((r) => r.monitor_id !== 0 && r.offset !== undefined).concat(state.liveOffsets);
  const nodes = [];
  if (!rows.length && !offs.length) {
    nodes.push(Object.assign(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "tick" }), { textContent: "no history yet" }));
    el.replaceChildren(...nodes);
    return;
  }
  const allTs = rows.map((r) => r.ts).concat(offs.map((o) => o.ts));
  let t0 = Math.min(...allTs), t1 = Math.max(...allTs, Date.now() / 1000);
  if (t1 - t0 < 60) t0 = t1 - 60;
  const scores = rows.map((r) => r.score);
  const yMin = Math.max(-100, Math.min(0, Math.floor(Math.min(...scores) / 10) * 10));
  const yMax = Math.max(20, Math.ceil(Math.max(...scores) / 10) * 10);
  let oMax = Math.max(0.01, ...offs.map((o) => Math.abs(o.offset)));
  oMax = Math.min(oMax, 10);
  const oStep = niceStep(oMax * 1000, 2) / 1000;
  oMax = Math.ceil(oMax / oStep) * oStep;
  const X = (t) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
  const Y = (s) => m.t + (1 - (Math.max(yMin, Math.min(yMax, s)) - yMin) / (yMax - yMin)) * (H - m.t - m.b);
  const O = (o) => m.t + (1 - (Math.max(-oMax, Math.min(oMax, o)) + oMax) / (2 * oMax)) * (H - m.t - m.b);
  /* grid and axes */
  const sStep = niceStep(yMax - yMin, 5);
  for (let s = Math.ceil(yMin / sStep) * sStep; s <= yMax; s += sStep) {
    nodes.push(svg("line", { x1: m.l, x2: W - m.r, y1: Y(s), y2: Y(s), class: "grid" }));
    nodes.push(Object.assign(svg("text", { x: m.l - 4, y: Y(s) + 4, "text-anchor": "end", class: "tick" }), { textContent: String(s) }));
  }
  for (let o = -oMax; o <= oMax + 1e-12; o += oStep) {
    const ms = o * 1000;
    nodes.push(Object.assign(svg("text", { x: W - m.r + 4, y: O(o) + 4, class: "tick" }),
      { textContent: `${Math.abs(ms) < 1e-9 ? 0 : +ms.toPrecision(3)} ms` }));
  }
  const tStep = niceStep(t1 - t0, Math.max(2, Math.floor((W - m.l - m.r) / 110)));
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    nodes.push(svg("line", { x1: X(t), x2: X(t), y1: m.t, y2: H - m.b, class: "grid" }));
    const d = new Date(t * 1000);
    const label = t1 - t0 > 2 * 86400 ? d.toLocaleDateString([], { month: "short", day: "numeric" })
      : d.toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit", second: t1 - t0 < 600 ? "2-digit" : undefined });
    nodes.push(Object.assign(svg("text", { x: X(t), y: H - 6, "text-anchor": "middle", class: "tick" }), { textContent: label }));
  }
  nodes.push(svg("line", { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, class: "axis" }));
  nodes.push(svg("line", { x1: W - m.r, x2: W - m.r, y1: m.t, y2: H - m.b, class: "axis" }));
  if (10 >= yMin && 10 <= yMax) nodes.push(svg("line", { x1: m.l, x2: W - m.r, y1: Y(10), y2: Y(10), class: "threshold" }));
  /* offsets */
  for (const o of offs)
    nodes.push(svg("circle", { cx: X(o.ts).toFixed(1), cy: O(o.offset).toFixed(1), r: 2.2, class: "pt offset", fill: offsetColor(o.offset) }));
  /* score lines, each monitor then the overall score on top */
  const series = new Map();
  for (const r of rows) {
    if (!series.has(r.monitor_id)) series.set(r.monitor_id, []);
    series.get(r.monitor_id).push(r);
  }
  const ids = [...series.keys()].sort((a, b) => (a === 0) - (b === 0) || a - b);
  for (const id of ids) {
    const pts = series.get(id).sort((a, b) => a.ts - b.ts);
    const d = pts.map((p, i) => `${i ? "L" : "M"}${X(p.ts).toFixed(1)},${Y(p.score).toFixed(1)}`).join("");
    nodes.push(svg("path", { d, class: `score-line${id === 0 ? " overall" : ""}`, stroke: id === 0 ? "#222" : monitorColor(id) }));
    if (id === 0)
      for (const p of pts) nodes.push(svg("circle", { cx: X(p.ts).toFixed(1), cy: Y(p.score).toFixed(1), r: 1.8, class: "pt score", fill: "#222" }));
  }
  el.replaceChildren(...nodes);
  const legend = [h("span", {}, h("i", { style: { background: "#222" } }), "overall score")];
  for (const mon of state.monitors) legend.push(h("span", {}, h("i", { style: { background: monitorColor(mon.id) } }), mon.name));
  legend.push(h("span", {}, h("i", { class: "dot" }), "offset (right axis; green < 10 ms, orange < 100 ms)"));
  legend.push(h("span", {}, h("i", { class: "dash" }), "in the pool from 10"));
  $("#legend").replaceChildren(...legend);
}

/* The check form: each monitor's answer appears the moment it streams in. */
function checkView() {
  show("view-check");
  document.title = "ntpmon — check";
  setLive("open");
  const ip = new URLSearchParams(location.search).get("ip");
  if (ip) $("#check-ip").value = ip;
  let ctrl = null;
  const onSubmit = async (ev) => {
    ev.preventDefault();
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const target = $("#check-ip").value.trim();
    const all = $("#check-all").checked;
    const tbody = $("#check-results tbody");
    const status = $("#check-status");
    tbody.replaceChildren();
    status.className = "muted";
    status.textContent = "asking the monitors…";
    $("#check-go").disabled = true;
    try {
      const resp = await fetch(`/api/check/ntp/${encodeURIComponent(target)}${all ? "?all=1" : ""}`, {
        method: "POST", headers: { Accept: "text/event-stream" }, signal: ctrl.signal,
      });
      if (!resp.ok) {
        const body = await resp.json().catch(() => ({ error: resp.statusText }));
        throw new Error(body.error || resp.statusText);
      }
      const reader = resp.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true }).replace(/\r\n/g, "\n");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (!data) continue;
          const d = JSON.parse(data);
          if (event === "answer") {
            const r = d.result || {};
            tbody.append(h("tr", { class: `answer flash`, "data-monitor": d.monitor },
              h("td", {}, d.monitor), h("td", { class: d.healthy ? "good" : "bad" }, d.healthy ? "yes" : "no"),
              h("td", { class: `num ${offsetClass(r.offset)}` }, fmtMs(r.offset)), h("td", { class: "num" }, fmtMs(r.rtt)),
              h("td", {}, r.stratum ?? "–"), h("td", {}, r.refid ?? ""), h("td", { class: "bad" }, d.error || r.error || "")));
            status.textContent = `${tbody.rows.length} answer${tbody.rows.length === 1 ? "" : "s"} so far…`;
          } else if (event === "done") {
            status.textContent = `${d.answers} answer${d.answers === 1 ? "" : "s"}, ${d.healthy} healthy` +
              (d.cached ? " (from a check moments ago)" : "");
          }
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") {
        status.className = "error";
        status.textContent = e.message;
      }
    } finally {
      $("#check-go").disabled = false;
    }
  };
  $("#check-form").addEventListener("submit", onSubmit);
  return {
    leave() {
      if (ctrl) ctrl.abort();
      $("#check-form").removeEventListener("submit", onSubmit);
    },
  };
}

/* ---------- routing ---------- */

function route() {
  if (current) current.leave();
  const p = location.pathname;
  if (p === "/check") current = checkView();
  else if (p.startsWith("/scores/") && p.length > 8) current = serverView(decodeURIComponent(p.slice(8)));
  else current = listView();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-nav]");
  if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  history.pushState(null, "", a.getAttribute("href"));
  route();
});
window.addEventListener("popstate", route);
route();
