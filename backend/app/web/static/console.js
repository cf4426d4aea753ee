/* Interview Kiosk room console.
 *
 * One live table of the room's seats, fed by Server-Sent Events from /console/events:
 *   {type: "room", seats, alerts, server_time}  full snapshot (first, and after every reconnect)
 *   {type: "seat", seat}                        one seat changed
 *   {type: "alert", alert}                      raised or changed; acknowledged_at set = cleared
 * Proctor actions are JSON POSTs with the page's CSRF token. Nothing here polls the server: the
 * only timer re-renders the "Last seen" cells once a second.
 *
 * Everything taken from the server is inserted with textContent / createElement, never as HTML.
 */
"use strict";

(() => {
  const EVENTS_URL = "/console/events";
  const SIGN_IN_URL = "/console/sign-in";
  const STATES = [
    ["locked", "Locked"], ["launching", "Launching"], ["checking", "Checking mic"],
    ["thinking", "Thinking"], ["answering", "Answering"], ["paused", "Paused"],
    ["done", "Done"], ["offline", "Offline"], ["missing", "Missing"],
  ];
  const STATE_LABEL = new Map(STATES);
  const PAUSABLE = new Set(["checking", "thinking", "answering"]); // a candidate is at the seat
  const TIMED = new Set(["thinking", "answering"]); // no seconds_left here means "no limit"
  const FIELDS = ["seat", "state", "candidate", "question", "time_left", "mic", "unacked",
    "reconnects", "last_seen", "actions"];
  const UNACKED_WARN = 5, UNACKED_BAD = 30, LAST_SEEN_WARN = 10; // seconds
  const MAX_LATENCIES = 10000; // the page stays open all day: keep the test hook bounded
  const FRESH_MS = 8000; // how long a new alert stays highlighted

  const ik = window.ikConsole = {
    latencies: [],
    seats: new Map(),      // kiosk_id -> Seat, as last received
    alerts: new Map(),     // alert id -> open Alert
    alertCounts: new Map(), // kiosk_id -> open alerts, from whichever of seat/alert event came last
    filter: "all",
    clockOffset: 0,        // server clock - local clock, ms (from the snapshot's server_time)
    source: null,
  };

  const $ = (sel) => document.querySelector(sel);
  const tbody = $("#seats tbody");
  const seatsEmpty = $("#seats-empty");
  const alertList = $("#alerts .alert-list");
  const alertsEmpty = $("#alerts-empty");
  const alertCount = $("#alert-count");
  const statusEl = $("#status");
  const liveEl = $("#live");
  const filtersEl = $("#filters");
  const csrf = ($('meta[name="csrf-token"]') || {}).content || "";
  const baseTitle = document.title;
  const naturalOrder = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  const rows = new Map(); // kiosk_id -> {tr, cells, meter, micValue, pause, resume, message}

  /** createElement with a class and text children (strings become text nodes). */
  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== ""));
    return node;
  }

  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const serverNow = () => Date.now() + ik.clockOffset;

  function formatClock(seconds) {
    const s = Math.max(0, Math.ceil(seconds)); // a countdown shows 0:00 only when time is up
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function formatAge(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 120) return `${s} s ago`;
    if (s < 7200) return `${Math.floor(s / 60)} min ago`;
    return `${Math.floor(s / 3600)} h ago`;
  }

  function formatTime(epochMs) {
    return new Date(epochMs).toLocaleTimeString([], {
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    });
  }

  // ---- status line and connection indicator -------------------------------------------------

  function say(text, kind = "ok") {
    statusEl.dataset.kind = kind;
    statusEl.textContent = text;
  }

  function setLive(state) {
    liveEl.dataset.state = state;
    liveEl.textContent = state === "live" ? "Live" : "Reconnecting…";
    // While disconnected the table shows the last state we heard; say so visually.
    document.body.classList.toggle("stale", state !== "live");
  }

  // ---- seat rows ------------------------------------------------------------------------------

  function createRow(id) {
    const tr = document.createElement("tr");
    tr.dataset.kiosk = id;
    const cells = {};
    for (const f of FIELDS) {
      const td = document.createElement("td");
      td.dataset.field = f;
      cells[f] = td;
      tr.append(td);
    }
    const meter = document.createElement("meter");
    meter.min = -60; meter.max = 0;
    const micValue = el("span", "mic-value");
    cells.mic.append(meter, micValue);

    const button = (action, text) => {
      const b = el("button", "small", text);
      b.type = "button";
      b.dataset.action = action;
      b.setAttribute("aria-label", `${text} ${id}`);
      return b;
    };
    const parts = {
      tr, cells, meter, micValue,
      pause: button("pause", "Pause"),
      resume: button("resume", "Resume"),
      message: button("message", "Message"),
      extra: button("extra", "Extra time"),
      end: button("end", "End"),
      lock: button("lock", "Lock"),
      incident: button("incident", "Incident"),
    };
    cells.actions.append(parts.pause, parts.resume, parts.extra, parts.end, parts.lock,
      parts.message, parts.incident);
    rows.set(id, parts);
    return parts;
  }

  function openAlertsFor(id) {
    let n = 0;
    for (const a of ik.alerts.values()) if (a.kiosk_id === id) n += 1;
    return n;
  }

  function renderSeat(seat) {
    const id = seat.kiosk_id;
    const p = rows.get(id) || createRow(id);
    const { tr, cells } = p;
    const state = seat.state;
    const alerts = ik.alertCounts.get(id) || 0;

    tr.dataset.state = state;
    tr.classList.toggle("alerting", alerts > 0);
    tr.classList.toggle("attention", Boolean(seat.attention));

    // The seat cell holds only the kiosk id; the badge is drawn from data-badge by the CSS so that
    // the cell's text stays exactly the id (see console.css, "cues").
    cells.seat.textContent = id;
    if (alerts > 0) cells.seat.dataset.badge = alerts === 1 ? "1 alert" : `${alerts} alerts`;
    else delete cells.seat.dataset.badge;
    cells.seat.title = seat.version ? `Kiosk version ${seat.version}` : "";

    // State and candidate stay one line (clipped with an ellipsis); the whole text is in the DOM
    // for screen readers and in the title for the mouse.
    const stateLine = el("span", "clip", STATE_LABEL.get(state) || state || "–");
    if (state === "paused" && seat.pause_reason) {
      stateLine.append(" ", el("small", "sub", seat.pause_reason));
    }
    if (seat.last_error) {
      stateLine.append(" ", el("small", "sub error-text", `Error: ${seat.last_error}`));
    }
    cells.state.replaceChildren(stateLine);
    cells.state.title = stateLine.childElementCount ? stateLine.textContent : "";

    const who = el("span", "clip", seat.candidate || "–");
    if (seat.posting) who.append(" ", el("small", "sub", seat.posting));
    cells.candidate.replaceChildren(who);
    cells.candidate.title = seat.posting ? who.textContent : "";

    // question_index is 0-based on the wire.
    const number = isNum(seat.question_index) ? seat.question_index + 1 : null;
    cells.question.textContent = number === null ? "–"
      : (isNum(seat.question_total) ? `${number} / ${seat.question_total}` : String(number));

    cells.time_left.textContent = isNum(seat.seconds_left) ? formatClock(seat.seconds_left)
      : (TIMED.has(state) ? "∞" : "–");
    if (cells.time_left.textContent === "∞") cells.time_left.title = "No time limit";
    else cells.time_left.removeAttribute("title");

    const hasMic = isNum(seat.mic_dbfs);
    p.meter.hidden = !hasMic;
    if (hasMic) {
      const db = Math.round(seat.mic_dbfs);
      p.meter.value = Math.min(0, Math.max(-60, seat.mic_dbfs));
      p.meter.setAttribute("aria-label", `Microphone ${db} dBFS`);
      p.micValue.textContent = String(db);
    } else {
      p.micValue.textContent = "–";
    }
    // The meter's name already says the number: read the text beside it only when it stands alone.
    p.micValue.setAttribute("aria-hidden", String(hasMic));

    const unacked = isNum(seat.unacked_seconds) ? seat.unacked_seconds : 0;
    cells.unacked.textContent = `${unacked.toFixed(1)} s`;
    cells.unacked.classList.toggle("warn", unacked > UNACKED_WARN && unacked <= UNACKED_BAD);
    cells.unacked.classList.toggle("bad", unacked > UNACKED_BAD);

    cells.reconnects.textContent = isNum(seat.reconnects) ? String(seat.reconnects) : "0";
    renderLastSeen(p, seat);

    setButtons(p, seat);
    tr.hidden = !matchesFilter(seat);
  }

  /** Show the buttons this state offers; keep keyboard focus on the seat when its button goes. */
  function setButtons(p, seat) {
    const focused = document.activeElement;
    const state = seat.state;
    // A candidate is at the seat: on the check or in the interview, or choosing (reported as
    // launching, with the candidate's name).
    const session = PAUSABLE.has(state) || (state === "launching" && !!seat.candidate);
    p.pause.hidden = !session;
    p.resume.hidden = state !== "paused";
    p.end.hidden = !(session || state === "paused");
    p.extra.hidden = p.end.hidden || !seat.interview_id; // extra time needs an interview
    // Lock is for a seat left without a session: a proctor's sign-in left open, or done.
    p.lock.hidden = !((state === "launching" && !seat.candidate) || state === "done");
    p.message.hidden = !(session || state === "paused");
    // A focused button that just disappeared would drop focus to <body>; hand it to its twin.
    if (focused === p.pause && p.pause.hidden) (p.resume.hidden ? p.incident : p.resume).focus();
    if (focused === p.resume && p.resume.hidden) (p.pause.hidden ? p.incident : p.pause).focus();
  }

  function renderLastSeen(p, seat) {
    const td = p.cells.last_seen;
    if (!isNum(seat.last_seen)) {
      td.textContent = "–";
      td.classList.remove("warn");
      return;
    }
    const age = serverNow() - seat.last_seen;
    const text = formatAge(age);
    if (td.textContent !== text) td.textContent = text;
    // An offline seat (quit, or never connected) is expected to be silent: no warning.
    td.classList.toggle("warn", seat.state !== "offline" && age > LAST_SEEN_WARN * 1000);
  }

  /** Sort key: open alert, missing, audio behind, paused, other rows the server flags for
   * attention, everything else, offline last. */
  function rank(seat) {
    const unacked = isNum(seat.unacked_seconds) ? seat.unacked_seconds : 0;
    if ((ik.alertCounts.get(seat.kiosk_id) || 0) > 0) return 0;
    if (seat.state === "missing") return 1;
    if (unacked > UNACKED_WARN) return 2;
    if (seat.state === "paused") return 3;
    if (seat.state === "offline") return 6;
    return seat.attention ? 4 : 5;
  }

  /** Put the rows in order, moving only those out of place (moving a row blurs its button). */
  function sortRows() {
    const order = [...ik.seats.values()].sort((a, b) =>
      rank(a) - rank(b) || naturalOrder.compare(a.kiosk_id, b.kiosk_id));
    const focused = document.activeElement;
    let cursor = tbody.firstElementChild;
    for (const seat of order) {
      const tr = rows.get(seat.kiosk_id).tr;
      if (tr === cursor) cursor = cursor.nextElementSibling;
      else tbody.insertBefore(tr, cursor);
    }
    if (focused && focused !== document.activeElement && tbody.contains(focused)) {
      focused.focus({ preventScroll: true });
    }
  }

  function removeRow(id) {
    const p = rows.get(id);
    if (p) p.tr.remove();
    rows.delete(id);
  }

  // ---- filters --------------------------------------------------------------------------------

  const filterButtons = new Map();
  function buildFilters() {
    for (const [value, label] of [["all", "All"], ...STATES]) {
      const count = el("span", "count", "0");
      const b = el("button", "filter", label, " ", count);
      b.type = "button";
      b.dataset.filter = value;
      b.setAttribute("aria-pressed", String(value === ik.filter));
      filterButtons.set(value, { button: b, count });
      filtersEl.append(b);
    }
  }

  const matchesFilter = (seat) => ik.filter === "all" || seat.state === ik.filter;

  function renderFilters() {
    const counts = new Map([["all", ik.seats.size]]);
    for (const s of ik.seats.values()) counts.set(s.state, (counts.get(s.state) || 0) + 1);
    for (const [value, { button, count }] of filterButtons) {
      const n = counts.get(value) || 0;
      count.textContent = String(n);
      button.classList.toggle("zero", n === 0);
      button.setAttribute("aria-pressed", String(value === ik.filter));
    }
  }

  function renderTable() {
    for (const seat of ik.seats.values()) rows.get(seat.kiosk_id).tr.hidden = !matchesFilter(seat);
    sortRows();
    renderFilters();
    const shown = [...ik.seats.values()].filter(matchesFilter).length;
    seatsEmpty.hidden = shown > 0;
    seatsEmpty.textContent = ik.seats.size === 0 ? "No seats have reported yet."
      : `No seat is ${(STATE_LABEL.get(ik.filter) || ik.filter).toLowerCase()}.`;
  }

  // ---- alerts ---------------------------------------------------------------------------------

  const alertItems = new Map(); // alert id -> {li, text, time}
  const KIND_LABEL = { called: "Called", idle: "Idle", error: "Error" };

  function createAlertItem(a) {
    const li = el("li", "alert");
    li.dataset.alertId = a.id;
    const seat = el("span", "alert-seat", a.kiosk_id);
    const kind = el("span", "alert-kind", KIND_LABEL[a.kind] || a.kind);
    const text = el("span", "alert-text");
    const time = el("time", "alert-time");
    const ack = el("button", "small", "Acknowledge");
    ack.type = "button";
    ack.dataset.ack = a.id;
    ack.setAttribute("aria-label", `Acknowledge alert from ${a.kiosk_id}`);
    li.append(seat, " ", kind, " ", time, " ", text, " ", ack);
    const item = { li, text, time, kind };
    alertItems.set(a.id, item);
    return item;
  }

  /** Keyed update of the list, newest first. Existing items are not re-inserted, so the
   * assertive live region announces only alerts that are actually new. */
  function renderAlerts(freshIds = []) {
    const open = [...ik.alerts.values()].sort((a, b) =>
      b.raised_at - a.raised_at || naturalOrder.compare(a.id, b.id));
    for (const [id, item] of alertItems) {
      if (!ik.alerts.has(id)) { item.li.remove(); alertItems.delete(id); }
    }
    let cursor = alertList.firstElementChild;
    for (const a of open) {
      const item = alertItems.get(a.id) || createAlertItem(a);
      item.text.textContent = a.text;
      item.kind.textContent = KIND_LABEL[a.kind] || a.kind;
      item.li.dataset.kind = a.kind;
      if (isNum(a.raised_at)) {
        item.time.dateTime = new Date(a.raised_at).toISOString();
        item.time.textContent = formatTime(a.raised_at);
      }
      if (item.li === cursor) cursor = cursor.nextElementSibling;
      else alertList.insertBefore(item.li, cursor);
    }
    for (const id of freshIds) {
      const item = alertItems.get(id);
      if (!item) continue;
      item.li.classList.add("fresh");
      setTimeout(() => item.li.classList.remove("fresh"), FRESH_MS);
    }
    alertsEmpty.hidden = open.length > 0;
    alertCount.textContent = open.length ? `(${open.length})` : "";
    document.title = open.length ? `(${open.length}) ${baseTitle}` : baseTitle;
  }

  // ---- beep -----------------------------------------------------------------------------------

  // Chromium keeps an AudioContext "suspended" until the page has had a user gesture, so the
  // context is also resumed on the proctor's first click or key press. A beep that cannot play
  // within a second is dropped rather than sounding late. No audio files: two short sine tones.
  let audioCtx = null;
  let lastBeep = 0;
  function audio() {
    if (!audioCtx) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx) audioCtx = new Ctx();
    }
    return audioCtx;
  }
  function unlockAudio() {
    try {
      const ctx = audio();
      if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
    } catch { /* no audio on this machine */ }
  }
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, unlockAudio, { capture: true });
  }

  function tone(ctx, freq, start, duration) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    // Ramp in and out: a square edge would click.
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + duration);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + duration + 0.02);
  }

  function beep() {
    const asked = Date.now();
    if (asked - lastBeep < 1500) return; // ten alerts at once make one beep, not a siren
    lastBeep = asked;
    const play = (ctx) => {
      const t = ctx.currentTime + 0.01;
      tone(ctx, 880, t, 0.14);
      tone(ctx, 660, t + 0.17, 0.2);
    };
    try {
      const ctx = audio();
      if (!ctx) return;
      if (ctx.state === "running") { play(ctx); return; }
      ctx.resume().then(() => { if (Date.now() - asked < 1000) play(ctx); }).catch(() => {});
    } catch { /* audio blocked or unavailable: the panel still shows the alert */ }
  }

  // ---- events from the server -----------------------------------------------------------------

  function noteLatency(seat) {
    if (!isNum(seat.reported_at)) return;
    ik.latencies.push(performance.timeOrigin + performance.now() - seat.reported_at);
    if (ik.latencies.length > MAX_LATENCIES) ik.latencies.shift();
  }

  function applySnapshot(msg) {
    if (isNum(msg.server_time)) ik.clockOffset = msg.server_time - Date.now();
    const seats = Array.isArray(msg.seats) ? msg.seats : [];
    const alerts = Array.isArray(msg.alerts) ? msg.alerts : [];
    ik.alerts.clear();
    for (const a of alerts) if (a.acknowledged_at == null) ik.alerts.set(a.id, a);
    const ids = new Set(seats.map((s) => s.kiosk_id));
    for (const id of [...rows.keys()]) if (!ids.has(id)) removeRow(id);
    ik.seats.clear();
    ik.alertCounts.clear();
    for (const seat of seats) {
      ik.seats.set(seat.kiosk_id, seat);
      ik.alertCounts.set(seat.kiosk_id, Math.max(seat.alerts || 0, openAlertsFor(seat.kiosk_id)));
      renderSeat(seat);
    }
    renderAlerts(); // a replay: no beep, no highlight
    renderTable();
    document.body.classList.remove("stale");
    document.body.dataset.ready = "1";
  }

  function applySeat(seat) {
    if (!seat || !seat.kiosk_id) return;
    // Only an update carrying a new report measures report-to-page latency: the backend also
    // sends a seat on its own (gone missing, an alert acknowledged) with the old report's time.
    const before = ik.seats.get(seat.kiosk_id);
    const newReport = !before || before.reported_at !== seat.reported_at;
    ik.seats.set(seat.kiosk_id, seat);
    // The seat's own count is the newest word on its alerts until the next alert event.
    ik.alertCounts.set(seat.kiosk_id, seat.alerts || 0);
    renderSeat(seat);
    renderTable();
    if (newReport) noteLatency(seat);
  }

  function applyAlert(a) {
    if (!a || !a.id) return;
    const fresh = [];
    if (a.acknowledged_at != null) {
      ik.alerts.delete(a.id);
    } else {
      if (!ik.alerts.has(a.id)) fresh.push(a.id);
      ik.alerts.set(a.id, a);
    }
    renderAlerts(fresh);
    ik.alertCounts.set(a.kiosk_id, openAlertsFor(a.kiosk_id));
    const seat = ik.seats.get(a.kiosk_id);
    if (seat) { renderSeat(seat); renderTable(); }
    if (fresh.length) beep();
  }

  function handle(msg) {
    if (msg.type === "room") applySnapshot(msg);
    else if (msg.type === "seat") applySeat(msg.seat);
    else if (msg.type === "alert") applyAlert(msg.alert);
  }

  // EventSource reconnects by itself after a dropped stream, but gives up for good (readyState
  // CLOSED) on an HTTP error or a non-event-stream answer, e.g. when the session has ended. Then
  // ask once with fetch to tell "signed out" from "server down", and retry with a backoff.
  let backoff = 1000;
  function connect() {
    const es = new EventSource(EVENTS_URL);
    ik.source = es;
    es.onopen = () => { backoff = 1000; setLive("live"); };
    es.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg && typeof msg === "object") handle(msg);
    };
    es.onerror = () => {
      setLive("reconnecting");
      if (es.readyState !== EventSource.CLOSED) return;
      es.close();
      setTimeout(probeAndReconnect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  async function probeAndReconnect() {
    const ctl = new AbortController();
    try {
      const r = await fetch(EVENTS_URL, {
        signal: ctl.signal, credentials: "same-origin", headers: { Accept: "text/event-stream" },
      });
      ctl.abort(); // only the status was wanted, not the stream
      if (r.status === 401 || (r.redirected && new URL(r.url).pathname === SIGN_IN_URL)) {
        window.location.assign(SIGN_IN_URL);
        return;
      }
    } catch { /* server unreachable: try the stream again anyway */ }
    connect();
  }

  // ---- actions --------------------------------------------------------------------------------

  function errorDetail(body, status) {
    const d = body && body.detail;
    if (typeof d === "string" && d) return d;
    if (Array.isArray(d) && d.length) return d.map((x) => (x && x.msg) || String(x)).join("; ");
    return `The server answered ${status}.`;
  }

  /** POST JSON; the parsed body on 2xx, else null once the error is shown in #status. */
  async function post(url, body) {
    let r;
    try {
      r = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
    } catch {
      say("The server could not be reached. Nothing was sent.", "error");
      return null;
    }
    if (r.status === 401) {
      window.location.assign(SIGN_IN_URL);
      return null;
    }
    let data = null;
    try { data = await r.json(); } catch { /* empty or not JSON */ }
    if (!r.ok) {
      say(errorDetail(data, r.status), "error");
      return null;
    }
    return data || {};
  }

  const seatUrl = (id, action) => `/console/seats/${encodeURIComponent(id)}/${action}`;

  async function pauseSeat(id, reason) {
    if (await post(seatUrl(id, "pause"), { reason })) say(`Pause sent to ${id}`);
  }
  async function resumeSeat(id) {
    if (await post(seatUrl(id, "resume"), {})) say(`Resume sent to ${id}`);
  }
  async function messageSeat(id, text) {
    if (await post(seatUrl(id, "message"), { text })) say(`Message sent to ${id}`);
  }
  async function endSeat(id) {
    say(`Ending the session at ${id}…`);
    if (await post(seatUrl(id, "end"), {})) say(`Session at ${id} ended; the seat is locked`);
  }
  async function grantExtraTime(id, accommodation, label) {
    if (await post(seatUrl(id, "extra-time"), { accommodation })) {
      say(`${label} granted at ${id}, from the next question`);
    }
  }
  async function lockSeat(id) {
    if (await post(seatUrl(id, "lock"), {})) say(`${id} locked`);
  }
  async function reportIncident(id, category, note) {
    const data = await post("/console/incidents", { kiosk_id: id, category, note });
    if (data) say(`Incident ${data.reference} filed for ${id}`);
  }
  async function pauseRoom(reason) {
    const data = await post("/console/room/pause", { reason });
    if (!data) return;
    // The answer names the seats paused and, per seat, why one was not ({"paused": [...],
    // "not_paused": {seat: why}}); a bare count ({"seats": n}) is understood too.
    const n = Array.isArray(data.paused) ? data.paused.length : data.seats;
    let text = isNum(n) ? `Pause sent to ${n} ${n === 1 ? "seat" : "seats"}` : "Pause sent";
    const skipped = data.not_paused && typeof data.not_paused === "object"
      ? Object.entries(data.not_paused) : [];
    if (skipped.length) {
      text += `; not paused: ${skipped.map(([k, why]) => `${k} (${why})`).join(", ")}`;
    }
    say(text);
  }
  async function acknowledge(button) {
    const a = ik.alerts.get(button.dataset.ack);
    if (!a) return;
    button.disabled = true;
    if (await post(`/console/alerts/${encodeURIComponent(a.id)}/ack`, {})) {
      say(`Alert from ${a.kiosk_id} acknowledged`);
      // The server's alert event will say the same; clearing now keeps the panel right if it lags.
      applyAlert({ ...a, acknowledged_at: serverNow() });
      // Focus was on the removed button: keep the keyboard in the panel.
      if (!document.activeElement || document.activeElement === document.body) {
        const next = alertList.querySelector("button[data-ack]");
        if (next) next.focus();
      }
    } else {
      button.disabled = false;
    }
  }

  // ---- dialogs --------------------------------------------------------------------------------

  /** Wire a <dialog> whose form has one text input; onConfirm(value) runs after it closes. */
  function setupDialog(dialog, onConfirm) {
    const form = dialog.querySelector("form");
    const input = form.querySelector("input");
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    input.addEventListener("input", () => input.setCustomValidity(""));
    form.addEventListener("submit", (e) => {
      e.preventDefault(); // the browser already checked required/maxlength before this event
      const value = input.value.trim();
      if (!value) { // "required" accepts spaces only
        input.setCustomValidity("Type something other than spaces.");
        input.reportValidity();
        return;
      }
      dialog.close();
      onConfirm(value, dialog);
    });
    return (setup) => {
      input.value = "";
      input.setCustomValidity("");
      setup();
      input.dispatchEvent(new Event("input"));
      dialog.showModal();
      input.focus();
    };
  }

  // One pause dialog serves a seat (data-kiosk set) and the whole room (data-kiosk empty), so the
  // page has a single field labelled "Reason".
  const pauseDialog = $("#pause-dialog");
  const openPause = setupDialog(pauseDialog, (reason, d) =>
    (d.dataset.kiosk ? pauseSeat(d.dataset.kiosk, reason) : pauseRoom(reason)));
  const messageDialog = $("#message-dialog");
  const openMessage = setupDialog(messageDialog, (text, d) => messageSeat(d.dataset.kiosk, text));

  // The incident dialog has a category and a note, so it is wired here rather than by
  // setupDialog (one text input).
  const incidentDialog = $("#incident-dialog");
  const incidentForm = incidentDialog.querySelector("form");
  incidentDialog.querySelector("[data-close]").addEventListener("click", () => incidentDialog.close());
  incidentForm.addEventListener("submit", (e) => {
    e.preventDefault();
    incidentDialog.close();
    reportIncident(incidentDialog.dataset.kiosk, $("#incident-category").value,
      $("#incident-note").value.trim());
  });
  // Ending a session cannot be undone: it asks first.
  const confirmDialog = $("#confirm-dialog");
  confirmDialog.querySelector("[data-close]").addEventListener("click", () => confirmDialog.close());
  confirmDialog.querySelector("form").addEventListener("submit", (e) => {
    e.preventDefault();
    confirmDialog.close();
    endSeat(confirmDialog.dataset.kiosk);
  });
  function openEnd(id) {
    confirmDialog.dataset.kiosk = id;
    $("#confirm-title").textContent = `End the session at ${id}?`;
    confirmDialog.showModal();
    $("#confirm-yes").focus();
  }

  const extraDialog = $("#extra-dialog");
  extraDialog.querySelector("[data-close]").addEventListener("click", () => extraDialog.close());
  extraDialog.querySelector("form").addEventListener("submit", (e) => {
    e.preventDefault();
    extraDialog.close();
    const choice = $("#extra-choice");
    grantExtraTime(extraDialog.dataset.kiosk, choice.value,
      choice.options[choice.selectedIndex].textContent);
  });
  function openExtra(id) {
    extraDialog.dataset.kiosk = id;
    $("#extra-title").textContent = `Extra time at ${id}`;
    extraDialog.showModal();
    $("#extra-choice").focus();
  }

  function openIncident(id) {
    incidentDialog.dataset.kiosk = id;
    $("#incident-title").textContent = `Incident at ${id}`;
    $("#incident-category").selectedIndex = 0;
    $("#incident-note").value = "";
    incidentDialog.showModal();
    $("#incident-category").focus();
  }

  function preparePause(kioskId) {
    const confirm = $("#pause-confirm");
    pauseDialog.dataset.kiosk = kioskId;
    confirm.classList.toggle("danger", !kioskId);
    if (kioskId) {
      $("#pause-title").textContent = `Pause ${kioskId}`;
      $("#pause-hint").textContent =
        "Pick a reason or type one. The seat stays paused until you resume it.";
      confirm.textContent = "Pause seat";
      return;
    }
    const n = [...ik.seats.values()].filter((s) => PAUSABLE.has(s.state)).length;
    $("#pause-title").textContent = "Pause every seat";
    $("#pause-hint").textContent = n === 0
      ? "No seat is in an interview right now."
      : `${n} ${n === 1 ? "seat" : "seats"} in an interview will pause with this reason.`;
    confirm.textContent = "Pause every seat";
  }

  const messageInput = $("#message-text");
  messageInput.addEventListener("input", () => {
    const used = messageInput.value.length;
    $("#message-count").textContent = `${used} / ${messageInput.maxLength} characters`;
  });

  tbody.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const id = b.closest("tr").dataset.kiosk;
    if (b.dataset.action === "pause") {
      openPause(() => preparePause(id));
    } else if (b.dataset.action === "resume") {
      resumeSeat(id);
    } else if (b.dataset.action === "extra") {
      openExtra(id);
    } else if (b.dataset.action === "end") {
      openEnd(id);
    } else if (b.dataset.action === "lock") {
      lockSeat(id);
    } else if (b.dataset.action === "incident") {
      openIncident(id);
    } else if (b.dataset.action === "message") {
      openMessage(() => {
        messageDialog.dataset.kiosk = id;
        $("#message-title").textContent = `Message to ${id}`;
      });
    }
  });

  $("#pause-all").addEventListener("click", () => openPause(() => preparePause("")));

  alertList.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-ack]");
    if (b) acknowledge(b);
  });

  filtersEl.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-filter]");
    if (!b) return;
    ik.filter = b.dataset.filter;
    renderTable();
  });

  // ---- start ----------------------------------------------------------------------------------

  // Today's incidents as CSV (the test center's records); the server's day is UTC.
  $("#incidents-csv").href = `/console/incidents.csv?day=${new Date().toISOString().slice(0, 10)}`;
  buildFilters();
  // The render timer: only the "Last seen" texts age between events. It never talks to the server.
  setInterval(() => {
    for (const seat of ik.seats.values()) {
      const p = rows.get(seat.kiosk_id);
      if (p) renderLastSeen(p, seat);
    }
  }, 1000);
  connect();
})();
