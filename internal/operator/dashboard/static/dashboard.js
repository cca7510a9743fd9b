// The ipcmesh dashboard: reads the bridge's stats stream, its events stream
// and its dead letters and schedules, and offers the actions the bridge
// allows. Every text from the mesh goes into the page as text (never as
// HTML).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "ipcmesh-dashboard-token";
  const WINDOW_SECONDS = 120; // the chart's width in time
  const CHART_SERIES = 6; // the busiest types drawn
  const TAIL_ROWS = 200;
  const SCHEDULES_EVERY = 5; // reports between two readings of the schedules
  const COLORS = ["#1f6feb", "#e36209", "#2e7d32", "#8250df", "#c62828", "#0a7f86"];

  const state = {
    mode: "disabled",
    token: "",
    prev: null, // the previous report's time and event totals
    samples: [], // {t, rates: {type: per second}}
    letterCount: -1,
    reports: 0,
    tail: null, // the tail's AbortController
    lastId: "",
    paused: false,
  };

  // el makes an element: attrs sets attributes ("class", "data-*", ...),
  // children are nodes or strings (text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  const num = (n, bad) => el("td", { class: bad && n > 0 ? "num bad" : "num" }, String(n || 0));
  const clock = (t) => (t ? new Date(t).toLocaleTimeString() : "-");
  // duration formats nanoseconds, "-" for none.
  function duration(ns) {
    if (!ns) return "-";
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 1 : 0) + " µs";
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 1 : 0) + " ms";
    return (ns / 1e9).toFixed(1) + " s";
  }

  // fill replaces the rows of table id's body, and shows its section's
  // "empty" line when there are none.
  function fill(id, rows) {
    const table = $(id);
    table.tBodies[0].replaceChildren(...rows);
    const empty = table.parentElement.querySelector(".empty");
    if (empty) empty.hidden = rows.length > 0;
    table.hidden = rows.length === 0;
  }

  function notice(text, bad) {
    const n = $("notice");
    n.textContent = text;
    n.className = bad ? "notice bad" : "notice";
    n.hidden = !text;
  }

  function setStatus(text, cls) {
    const s = $("status");
    s.textContent = text;
    s.className = "status " + (cls || "");
  }

  // api calls the bridge; an action (any method but GET) carries the
  // headers the bridge asks of actions. It throws the bridge's error.
  async function api(method, path) {
    const headers = {};
    if (method !== "GET") {
      headers["X-Mesh-Dashboard"] = "1";
      if (state.token) headers["X-Mesh-Dashboard-Token"] = state.token;
    }
    const resp = await fetch(path, { method, headers, cache: "no-store" });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.error || resp.status + " " + resp.statusText);
    return body;
  }

  // --- Actions -----------------------------------------------------------

  function readToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search); // out of sight and history
    }
    return sessionStorage.getItem(TOKEN_KEY) || "";
  }

  function confirmDialog(text) {
    const d = $("confirm");
    $("confirm-text").textContent = text;
    d.returnValue = "";
    return new Promise((resolve) => {
      d.onclose = () => resolve(d.returnValue === "ok");
      d.showModal();
    });
  }

  // act confirms, then sends the action and says what came of it.
  async function act(question, path, done) {
    if (state.mode === "disabled" || !(await confirmDialog(question))) return;
    if (state.mode === "token" && !state.token) {
      state.token = prompt("This bridge's dashboard token (meshctl serve --dashboard-token):") || "";
      if (!state.token) return;
      sessionStorage.setItem(TOKEN_KEY, state.token);
    }
    try {
      notice(done(await api("POST", path)));
    } catch (e) {
      notice(e.message, true);
      if (state.mode === "token" && /token/.test(e.message)) {
        state.token = "";
        sessionStorage.removeItem(TOKEN_KEY);
      }
    }
    refreshLetters();
    refreshSchedules();
  }

  function actionButton(label, onclick, danger) {
    const b = el("button", { type: "button", class: danger ? "action danger" : "action" }, label);
    b.disabled = state.mode === "disabled";
    b.onclick = onclick;
    return b;
  }

  function showMode() {
    const notes = {
      disabled: "Actions are off: start meshctl serve with --dashboard-actions to re-drive, purge and cancel from here.",
      loopback: "Actions are allowed from this machine.",
      token: "Actions need the bridge's token: open this page as …/#token=TOKEN, or you will be asked for it.",
    };
    $("actions-note").textContent = notes[state.mode] || "";
    for (const b of document.querySelectorAll("button.action")) b.disabled = state.mode === "disabled";
  }

  // --- Stats -------------------------------------------------------------

  function render(r) {
    state.reports++;
    $("namespace").textContent = r.namespace;
    renderSummary(r);
    renderServices(r.services || {});
    renderTypes(r);
    renderConsumers(r.consumers || []);
    renderOutboxes(r.services || {});
    const count = r.dead_letters ? r.dead_letters.count : 0;
    if (count !== state.letterCount) {
      state.letterCount = count;
      refreshLetters();
    }
    if (state.reports % SCHEDULES_EVERY === 1) refreshSchedules();
  }

  function renderSummary(r) {
    const items = [];
    const add = (k, v) => items.push(el("div", {}, el("dt", {}, k), el("dd", {}, v)));
    if (r.server) add("connections", r.server.connections);
    if (r.stream) add("events stored", r.stream.events + " (last seq " + r.stream.last_seq + ")");
    add("dead letters", r.dead_letters ? r.dead_letters.count : "no stream");
    add("updated", clock(r.time));
    $("summary").replaceChildren(...items);
  }

  function renderServices(services) {
    const rows = Object.keys(services).sort().map((name) => {
      const s = services[name];
      const instances = el("ul", { class: "instances" }, ...(s.instances || []).map((i) =>
        el("li", { title: i.instance }, "…" + i.instance.slice(-8) + " since " + clock(i.since) +
          " · handled " + i.handled + " · failed " + i.failed)));
      return el("tr", { "data-service": name }, el("td", {}, name, instances),
        num(s.emitted), num(s.received), num(s.handled), num(s.failed, true), num(s.panics, true),
        num(s.invalid, true), num(s.dropped, true), num(s.in_flight));
    });
    fill("services", rows);
  }

  // totals sums each event type's counts over the services.
  function totals(services) {
    const t = {};
    for (const s of Object.values(services)) {
      for (const [name, e] of Object.entries(s.events || {})) {
        const x = (t[name] ||= { emitted: 0, received: 0, handled: 0, failed: 0, time: 0, max: 0 });
        x.emitted += e.emitted; x.received += e.received; x.handled += e.handled; x.failed += e.failed;
        x.time += e.handler_time_ns || 0;
        x.max = Math.max(x.max, e.max_handler_time_ns || 0);
      }
    }
    return t;
  }

  function renderTypes(r) {
    const now = Date.parse(r.time);
    const t = totals(r.services || {});
    const rates = {};
    if (state.prev) {
      const dt = (now - state.prev.time) / 1000;
      for (const [name, x] of Object.entries(t)) {
        const before = state.prev.totals[name] ? state.prev.totals[name].emitted : 0;
        rates[name] = dt > 0 ? Math.max(0, x.emitted - before) / dt : 0; // a restarted worker counts from 0
      }
      state.samples.push({ t: now, rates });
      while (state.samples.length && now - state.samples[0].t > WINDOW_SECONDS * 1000) state.samples.shift();
    }
    state.prev = { time: now, totals: t };
    const rows = Object.keys(t).sort().map((name) => {
      const x = t[name];
      return el("tr", { "data-type": name }, el("td", {}, name),
        el("td", { class: "num emitted" }, String(x.emitted)),
        el("td", { class: "num rate" }, (rates[name] || 0).toFixed(1)),
        num(x.received), num(x.handled), num(x.failed, true),
        el("td", { class: "num mean" }, duration(x.handled + x.failed ? x.time / (x.handled + x.failed) : 0)),
        el("td", { class: "num max" }, duration(x.max)));
    });
    fill("types", rows);
    drawChart();
  }

  // scale returns the chart's top, v rounded up to 1, 2 or 5 times a
  // power of ten, and its number of grid steps, so that each is round.
  function scale(v) {
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    const m = [1, 2, 5, 10].find((m) => m * p >= v);
    return { top: m * p, steps: m === 2 ? 4 : 5 };
  }

  function drawChart() {
    const c = $("chart");
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const pad = { l: 44, r: 8, t: 8, b: 18 };
    const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
    const peak = {};
    for (const s of state.samples) for (const [k, v] of Object.entries(s.rates)) peak[k] = Math.max(peak[k] || 0, v);
    const series = Object.keys(peak).sort((a, b) => peak[b] - peak[a] || a.localeCompare(b)).slice(0, CHART_SERIES);
    const { top, steps } = scale(Math.max(1, ...series.map((k) => peak[k])));
    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    for (let i = 0; i <= steps; i++) {
      const y = pad.t + ph * (1 - i / steps);
      g.strokeStyle = "#dde1e6";
      g.beginPath(); g.moveTo(pad.l, y); g.lineTo(w - pad.r, y); g.stroke();
      g.fillStyle = "#6b7580";
      g.fillText(String(+(top * i / steps).toFixed(2)) + "/s", 2, y + 4);
    }
    g.fillText("-2 min", pad.l, h - 4);
    g.fillText("now", w - pad.r - 22, h - 4);
    const now = state.samples.length ? state.samples[state.samples.length - 1].t : 0;
    series.forEach((name, k) => {
      g.strokeStyle = COLORS[k % COLORS.length];
      g.lineWidth = 1.5;
      g.beginPath();
      state.samples.forEach((s, i) => {
        const x = pad.l + pw * (1 - (now - s.t) / (WINDOW_SECONDS * 1000));
        const y = pad.t + ph * (1 - (s.rates[name] || 0) / top);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    });
    $("legend").replaceChildren(...series.map((name, k) => {
      const s = el("span", {}, name);
      s.style.setProperty("--swatch", COLORS[k % COLORS.length]);
      return s;
    }));
  }

  function renderConsumers(list) {
    fill("consumers", list.map((c) => el("tr", { "data-handler": c.handler },
      el("td", {}, c.service), el("td", {}, c.handler),
      el("td", {}, c.service === "?" ? "(a reader: a live tail or a replay)" : c.pattern),
      num(c.pending), num(c.ack_pending), num(c.redelivered, true), num(c.lag),
      el("td", {}, c.paused ? "until " + clock(c.paused_until) : "-"))));
  }

  // renderOutboxes lists the outbox relays' stats the instances export
  // (extra "outbox:<table>"); the section shows only when there is one.
  function renderOutboxes(services) {
    const rows = [];
    for (const name of Object.keys(services).sort()) {
      for (const i of services[name].instances || []) {
        for (const [key, o] of Object.entries(i.extra || {})) {
          if (!key.startsWith("outbox:") || !o || typeof o !== "object") continue;
          rows.push(el("tr", { "data-outbox": name + "/" + i.instance + "/" + o.table },
            el("td", { title: i.instance }, name + " …" + i.instance.slice(-8)), el("td", {}, o.table),
            num(o.pending), el("td", { class: "num lag" }, duration(o.lag_ns)), num(o.published), num(o.failures, true),
            el("td", { title: o.last_error || "" }, o.leader ? "leader" : o.running ? "standby" : "stopped")));
        }
      }
    }
    fill("outboxes", rows);
    $("outboxes-section").hidden = rows.length === 0;
  }

  function startStats() {
    const es = new EventSource("api/ipc/stats/stream");
    es.onopen = () => setStatus("live", "live");
    es.onmessage = (m) => render(JSON.parse(m.data));
    es.addEventListener("gather-error", (m) => setStatus("stats: " + JSON.parse(m.data).error, "down"));
    es.onerror = () => setStatus("disconnected, reconnecting…", "down");
  }

  // --- Dead letters and schedules ------------------------------------------

  async function refreshLetters() {
    const service = $("letters-service").value.trim();
    let body;
    try {
      body = await api("GET", "api/ipc/deadletters?limit=100" + (service ? "&service=" + encodeURIComponent(service) : ""));
    } catch (e) {
      notice("dead letters: " + e.message, true);
      return;
    }
    $("letter-count").textContent = "(" + body.count + " kept" + (body.letters.length < body.count ? ", " + body.letters.length + " shown" : "") + ")";
    fill("letters", body.letters.map((l) => el("tr", { "data-letter": l.id },
      el("td", { class: "num" }, String(l.id)), el("td", {}, clock(l.time)), el("td", {}, l.service),
      el("td", {}, l.handler), el("td", {}, l.event_type || "(invalid)"), num(l.deliveries),
      el("td", {}, l.reason),
      el("td", {}, actionlessButton("Show", () => showLetter(l.id)),
        actionButton("Re-drive", () => act("Re-drive dead letter " + l.id + " (" + (l.event_type || "invalid") + ") to " + l.service + "?",
          "api/ipc/deadletters/" + l.id + "/redrive", () => "Re-drove dead letter " + l.id + "."))))));
  }

  function actionlessButton(label, onclick) {
    const b = el("button", { type: "button" }, label);
    b.onclick = onclick;
    return b;
  }

  async function showLetter(id) {
    const pre = $("letter-detail");
    try {
      pre.textContent = JSON.stringify(await api("GET", "api/ipc/deadletters/" + id), null, 2);
    } catch (e) {
      pre.textContent = e.message;
    }
    pre.hidden = false;
  }

  function purge() {
    const service = $("letters-service").value.trim();
    const what = service ? "the dead letters of " + service : "all " + Math.max(state.letterCount, 0) + " dead letters";
    act("Purge " + what + "? They are removed for good.",
      "api/ipc/deadletters/purge" + (service ? "?service=" + encodeURIComponent(service) : ""),
      (r) => "Purged " + r.purged + " dead letters.");
  }

  async function refreshSchedules() {
    let body;
    try {
      body = await api("GET", "api/ipc/schedules?limit=100");
    } catch (e) {
      notice("schedules: " + e.message, true);
      return;
    }
    $("schedules-section").hidden = body.count === 0;
    $("schedule-count").textContent = "(" + body.count + ")";
    fill("schedules", body.schedules.map((s) => el("tr", { "data-schedule": s.key },
      el("td", {}, s.event), el("td", {}, s.source + " → " + s.target),
      el("td", {}, s.recurring ? s.pattern + (s.time_zone ? " (" + s.time_zone + ")" : "") : new Date(s.at).toLocaleString()),
      el("td", {}, s.id),
      el("td", {}, actionButton("Cancel", () => act("Cancel the scheduled " + s.event + " " + s.id + "? It will not fire again.",
        "api/ipc/schedules/" + encodeURIComponent(s.key) + "/cancel", () => "Cancelled " + s.event + " " + s.id + "."), true)))));
  }

  // --- Live tail -------------------------------------------------------------

  function tailStatus(text) {
    $("tail-status").textContent = text;
  }

  // startTail (re)opens the events stream for the filter's pattern, after
  // state.lastId when set (a resume misses nothing).
  async function startTail() {
    if (state.tail) state.tail.abort();
    const ctl = new AbortController();
    state.tail = ctl;
    const input = $("tail-filter");
    const pattern = input.value.trim() || ">";
    const headers = state.lastId ? { "Last-Event-ID": state.lastId } : {};
    let resp;
    try {
      resp = await fetch("api/ipc/events?event=" + encodeURIComponent(pattern), { headers, signal: ctl.signal, cache: "no-store" });
    } catch (e) {
      return retryTail(ctl, e.message);
    }
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      if (resp.status === 400) {
        input.classList.add("invalid");
        return tailStatus(body.error || resp.statusText);
      }
      return retryTail(ctl, body.error || resp.statusText);
    }
    input.classList.remove("invalid");
    tailStatus("live: " + pattern);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          onMessage(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      }
    } catch (e) {
      return retryTail(ctl, e.message);
    }
    retryTail(ctl, "the stream ended");
  }

  function retryTail(ctl, why) {
    if (ctl.signal.aborted || state.tail !== ctl) return;
    tailStatus("reconnecting (" + why + ")…");
    setTimeout(() => { if (state.tail === ctl && !state.paused) startTail(); }, 2000);
  }

  // onMessage reads one SSE message: edge's id, event and data lines.
  function onMessage(block) {
    let id = "", event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line[0] === ":") continue;
      const at = line.indexOf(":");
      const field = at < 0 ? line : line.slice(0, at);
      let value = at < 0 ? "" : line.slice(at + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (id) state.lastId = id;
    if (event === "edge.dropped" || event === "edge.gap") {
      return addTailRow(el("tr", { class: "notice-row" }, el("td", { colspan: 6 }, event + " " + data.join("\n"))));
    }
    let ce;
    try {
      ce = JSON.parse(data.join("\n"));
    } catch {
      return;
    }
    const payload = ce.data !== undefined ? JSON.stringify(ce.data) : ce.data_base64 || "";
    addTailRow(el("tr", { "data-type": ce.type, "data-id": ce.id },
      el("td", { class: "num" }, id || "-"), el("td", {}, clock(ce.time)), el("td", {}, ce.source),
      el("td", {}, ce.type), el("td", {}, ce.id),
      el("td", { class: "data" }, payload.length > 200 ? payload.slice(0, 200) + "…" : payload)));
  }

  function addTailRow(row) {
    const body = $("tail").tBodies[0];
    body.prepend(row);
    while (body.rows.length > TAIL_ROWS) body.lastElementChild.remove();
  }

  // --- Start -----------------------------------------------------------------

  async function start() {
    state.token = readToken();
    try {
      const info = await api("GET", "api/ipc/dashboard");
      state.mode = info.actions;
      $("namespace").textContent = info.namespace;
    } catch (e) {
      notice("dashboard: " + e.message, true);
    }
    showMode();
    $("purge").onclick = purge;
    $("letters-service").onchange = refreshLetters;
    $("tail-form").onsubmit = (e) => {
      e.preventDefault();
      state.lastId = "";
      state.paused = false;
      $("tail-pause").textContent = "Pause";
      startTail();
    };
    $("tail-pause").onclick = () => {
      state.paused = !state.paused;
      $("tail-pause").textContent = state.paused ? "Resume" : "Pause";
      if (state.paused) {
        state.tail.abort();
        tailStatus("paused after seq " + (state.lastId || "-"));
      } else {
        startTail(); // from state.lastId: the events sent meanwhile come first
      }
    };
    $("tail-clear").onclick = () => $("tail").tBodies[0].replaceChildren();
    window.addEventListener("resize", drawChart);
    startStats();
    startTail();
  }

  start();
})();
