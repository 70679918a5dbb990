// chiptrail dashboard: a client of the public /v1 API and nothing else.
// Pages (hash routes): #/queue?filters, #/case/ID, #/finding/ID, #/map, #/chip/ID, #/party/ID,
// #/log.
// Data is rendered with textContent only (never innerHTML), so API strings cannot inject markup.
"use strict";

const VERDICT_COLOURS = {
  VIOLATION: "#d62728", SUSPECT: "#ff7f0e", VERIFIED: "#2ca02c", UNVERIFIED: "#7f7f7f",
};
const SVG_NS = "http://www.w3.org/2000/svg";
const view = document.getElementById("view");
let worldCache = null;

// ---- small DOM helpers ------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c) el.append(c);
  return el;
}
function text(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
function table(rows, columns, id) {
  if (!rows.length) return h("p", { class: "empty" }, "nothing to show");
  const cols = columns || Object.keys(rows[0]);
  return h("table", { id },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, cols.map((c) => h("td", {}, text(r[c])))))));
}
function problem(res) {
  const err = res.body && res.body.error;
  return h("p", { class: "problem", role: "alert" },
    `${res.status}: ${err ? err.message : "request failed"}`);
}
function verdictBadge(verdict) {
  const v = String(verdict || "UNVERIFIED").toUpperCase();
  return h("span", { class: `badge verdict-${v.toLowerCase()}` }, v);
}

// ---- the API ----------------------------------------------------------------------------------
function apiKey() { return sessionStorage.getItem("chiptrail-key") || ""; }

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (apiKey()) headers.Authorization = `Bearer ${apiKey()}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  let res;
  try {
    res = await fetch(path, { method: options.method || "GET", headers, body: options.body });
  } catch (e) {
    return { ok: false, status: 0, body: { error: { message: String(e) } } };
  }
  const type = res.headers.get("content-type") || "";
  const body = type.includes("json") ? await res.json() : await res.text();
  return { ok: res.ok, status: res.status, body };
}
function items(body) {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.items)) return body.items;
  for (const k of ["chips", "findings", "results", "hits", "matches", "events"]) {
    if (body && Array.isArray(body[k])) return body[k];
  }
  return [];
}

async function refreshWhoami() {
  const who = document.getElementById("whoami");
  if (!apiKey()) { who.textContent = "not signed in"; return; }
  const me = await api("/v1/me");
  who.textContent = me.ok
    ? `${me.body.role}${me.body.party_id ? " of " + me.body.party_id : ""}`
    : `key refused (${me.status})`;
}

// ---- map --------------------------------------------------------------------------------------
const MAP_W = 960, MAP_H = 480;
function project(lat, lon) { // equirectangular: (lat, lon) degrees -> SVG x, y
  return [((lon + 180) / 360) * MAP_W, ((90 - lat) / 180) * MAP_H];
}
function ringPath(ring) { // GeoJSON ring of [lon, lat]
  return ring.map(([lon, lat], i) => {
    const [x, y] = project(lat, lon);
    return `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
  }).join("") + "Z";
}
async function world() {
  if (!worldCache) worldCache = await (await fetch("world.geojson")).json();
  return worldCache;
}
async function worldSvg(id) {
  const svg = s("svg", { id, viewBox: `0 0 ${MAP_W} ${MAP_H}`, class: "map", role: "img" });
  svg.append(s("rect", { x: 0, y: 0, width: MAP_W, height: MAP_H, class: "sea" }));
  for (const f of (await world()).features) {
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    const d = polys.map((p) => p.map(ringPath).join("")).join("");
    const path = s("path", { d, class: "country", "data-iso2": f.properties.iso2 });
    path.append(s("title", {}, document.createTextNode(f.properties.iso2)));
    svg.append(path);
  }
  return svg;
}
function chipPosition(chip) {
  const loc = chip.location || chip;
  const lat = loc.lat ?? loc.latitude ?? (loc.estimate && loc.estimate.lat);
  const lon = loc.lon ?? loc.longitude ?? (loc.estimate && loc.estimate.lon);
  return (typeof lat === "number" && typeof lon === "number") ? [lat, lon] : null;
}
async function loadChips() {
  // The latest stored location verdict of every chip (GET /v1/verdicts), page by page.
  const chips = [];
  let cursor = null, res;
  do {
    res = await api(`/v1/verdicts?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!res.ok) break;
    chips.push(...items(res.body));
    cursor = res.body.next_cursor;
  } while (cursor && chips.length < 5000);
  return { res, chips };
}
const WORST = ["VIOLATION", "SUSPECT", "UNVERIFIED", "VERIFIED"];
let mapZoom = { k: 1, cx: MAP_W / 2, cy: MAP_H / 2 };
function setViewBox(svg) {
  const w = MAP_W / mapZoom.k, hh = MAP_H / mapZoom.k;
  const x = Math.max(0, Math.min(MAP_W - w, mapZoom.cx - w / 2));
  const y = Math.max(0, Math.min(MAP_H - hh, mapZoom.cy - hh / 2));
  svg.setAttribute("viewBox", `${x.toFixed(1)} ${y.toFixed(1)} ${w.toFixed(1)} ${hh.toFixed(1)}`);
}
function centroids(worldDoc) { // country -> [lat, lon] of its largest ring's bounding-box centre
  const out = {};
  for (const f of worldDoc.features) {
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    let best = null, area = -1;
    for (const p of polys) {
      const xs = p[0].map((c) => c[0]), ys = p[0].map((c) => c[1]);
      const a = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
      if (a > area) { area = a; best = [(Math.max(...ys) + Math.min(...ys)) / 2, (Math.max(...xs) + Math.min(...xs)) / 2]; }
    }
    if (best) out[f.properties.iso2] = best;
  }
  return out;
}
function labelled(svg, x, y, label, cls, taken) { // skip a label that would overlap another
  const w = label.length * 5.5 / mapZoom.k, hh = 10 / mapZoom.k;
  if (taken.some((b) => x < b[0] + b[2] && x + w > b[0] && y - hh < b[1] && y > b[1] - b[3])) return;
  taken.push([x, y, w, hh]);
  const t = s("text", { x, y, class: cls, "font-size": (10 / mapZoom.k).toFixed(2) });
  t.textContent = label;
  svg.append(t);
}
async function showMap() {
  const svg = await worldSvg("world-map");
  const [{ res, chips }, lms, casesRes, partiesRes] = await Promise.all([loadChips(),
    api("/v1/landmarks"), api("/v1/cases?limit=500"), api("/v1/parties?limit=1000")]);
  const counts = {};
  const cell = 12 / mapZoom.k; // cluster cell in SVG units: fewer, larger clusters zoomed out
  const clusters = new Map();
  for (const chip of chips) {
    const verdict = String(chip.verdict || "UNVERIFIED").toUpperCase();
    counts[verdict] = (counts[verdict] || 0) + 1;
    const pos = chipPosition(chip);
    if (!pos) continue;
    const [x, y] = project(pos[0], pos[1]);
    const key = `${Math.round(x / cell)}:${Math.round(y / cell)}`;
    const c = clusters.get(key) || { x: 0, y: 0, chips: [] };
    c.x += x; c.y += y; c.chips.push([chip, verdict]); clusters.set(key, c);
  }
  const taken = [], marks = [];
  for (const c of clusters.values()) {
    const n = c.chips.length, x = c.x / n, y = c.y / n;
    const rr = (n === 1 ? 5 : 6 + 2.5 * Math.log2(n)) / mapZoom.k;
    taken.push([x - rr, y + rr, 2 * rr, 2 * rr]); // labels keep off the markers
    const worst = WORST.find((v) => c.chips.some(([, vv]) => vv === v)) || "UNVERIFIED";
    if (n === 1) {
      const [chip, verdict] = c.chips[0];
      const dot = s("circle", {
        cx: x.toFixed(1), cy: y.toFixed(1), r: 5 / mapZoom.k, class: "chip",
        fill: VERDICT_COLOURS[verdict] || "#7f7f7f", "data-verdict": verdict,
        "data-chip": chip.chip_id, onclick: () => { location.hash = `#/chip/${chip.chip_id}`; },
      });
      dot.append(s("title", {}, document.createTextNode(`${chip.chip_id}: ${verdict}`)));
      marks.push(dot);
      continue;
    }
    const r = (6 + 2.5 * Math.log2(n)) / mapZoom.k;
    const by = {};
    for (const [, v] of c.chips) by[v] = (by[v] || 0) + 1;
    const g = s("g", { class: "cluster", "data-count": n, "data-verdict": worst, onclick: () => {
      mapZoom = { k: Math.min(32, mapZoom.k * 3), cx: x, cy: y }; showMap();
    } });
    g.append(s("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r, fill: VERDICT_COLOURS[worst] }));
    const t = s("text", { x: x.toFixed(1), y: (y + r / 3).toFixed(1), class: "cluster-count",
      "font-size": (r * 0.9).toFixed(2) });
    t.textContent = String(n);
    g.append(t, s("title", {}, document.createTextNode(
      `${n} chips: ${Object.entries(by).map(([v, k]) => `${k} ${v}`).join(", ")} (click to zoom)`)));
    marks.push(g);
  }
  for (const lm of lms.ok ? (lms.body.landmarks || items(lms.body)) : []) {
    const [x, y] = project(lm.lat, lm.lon), k = 3 / mapZoom.k;
    svg.append(s("path", { d: `M${x},${y - k}L${x + k},${y + k}L${x - k},${y + k}Z`, class: "landmark-mark" }));
    labelled(svg, x + k, y - k, String(lm.landmark_id).replace(/^LM-[A-Z]{2}-/, "").replace(/([a-z])([A-Z])/g, "$1 $2"), "landmark-label", taken);
  }
  svg.append(...marks); // chips over the landmarks
  const where = centroids(await world());
  const partyCountry = Object.fromEntries((partiesRes.ok ? items(partiesRes.body) : []).map((p) => [p.party_id, p.countries[0]]));
  const chipAt = Object.fromEntries(chips.map((c) => [c.chip_id, chipPosition(c)]));
  const placed = [];
  for (const kase of casesRes.ok ? items(casesRes.body) : []) {
    const spot = kase.chips.map((id) => chipAt[id]).find(Boolean)
      || where[kase.countries[0]] || where[partyCountry[kase.parties[0]]];
    if (!spot) continue;
    const [sx, sy] = project(spot[0], spot[1]), k = 5 / mapZoom.k;
    const x = sx + 3 * k, y = sy - 3 * k; // beside the chips it is about, not on top of them
    const m = s("path", { d: `M${x},${y - k}L${x + k},${y}L${x},${y + k}L${x - k},${y}Z`,
      class: `case-mark severity-${kase.severity}`, "data-case": kase.id,
      onclick: () => { location.hash = `#/case/${kase.id}`; } });
    m.append(s("title", {}, document.createTextNode(`case #${kase.rank}: ${kase.title} (${kase.channels.join(", ")})`)));
    svg.append(m);
    placed.push(kase);
    labelled(svg, x + k, y + k * 2, `#${kase.rank}`, "case-label", taken);
  }
  setViewBox(svg);
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    const box = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    const cx = vb.x + ((e.clientX - box.left) / box.width) * vb.width;
    const cy = vb.y + ((e.clientY - box.top) / box.height) * vb.height;
    mapZoom = { k: Math.max(1, Math.min(32, mapZoom.k * (e.deltaY < 0 ? 1.5 : 1 / 1.5))), cx, cy };
    showMap();
  }, { passive: false });
  const zoom = h("div", { class: "map-tools" },
    h("button", { id: "zoom-in", onclick: () => { mapZoom.k = Math.min(32, mapZoom.k * 2); showMap(); } }, "+"),
    h("button", { id: "zoom-out", onclick: () => { mapZoom.k = Math.max(1, mapZoom.k / 2); showMap(); } }, "−"),
    h("button", { id: "zoom-reset", onclick: () => { mapZoom = { k: 1, cx: MAP_W / 2, cy: MAP_H / 2 }; showMap(); } }, "world"),
    h("span", { class: "hint" }, `zoom ×${mapZoom.k.toFixed(1)}; click a cluster to zoom in, a ◆ to open its case`));
  const legend = h("ul", { id: "legend" }, Object.entries(VERDICT_COLOURS).map(([v, c]) =>
    h("li", { "data-colour": c }, h("span", { class: `swatch swatch-${v.toLowerCase()}` }),
      `${v} (${counts[v] || 0})`)), h("li", {}, `◆ cases (${placed.length})`), h("li", {}, "▲ landmarks"));
  const go = h("form", { id: "chip-search", onsubmit: (e) => {
    e.preventDefault(); location.hash = `#/chip/${document.getElementById("chip-id").value}`;
  } }, h("input", { id: "chip-id", placeholder: "chip id" }), h("button", {}, "Open chip"));
  view.replaceChildren(h("h2", {}, "Where the chips and cases are"), go, zoom, svg, legend,
    res.ok ? h("p", { id: "chip-count" }, `${chips.length} chips, ${placed.length} cases placed`) : problem(res));
  document.body.dataset.ready = "1";
}

// ---- chip -------------------------------------------------------------------------------------
function timeline(events) {
  if (!events.length) return h("p", { class: "empty" }, "no custody events");
  const sorted = [...events].sort((a, b) =>
    text(a.event_time || a.eventTime || a.at).localeCompare(text(b.event_time || b.eventTime || b.at)));
  return h("ol", { id: "custody-timeline", class: "timeline" }, sorted.map((e) => h("li", {},
    h("time", {}, text(e.event_time || e.eventTime || e.at)), " ",
    h("strong", {}, text(e.biz_step || e.bizStep || e.type || e.event_type)), " ",
    text(e.party_id || e.party || e.owner || ""), " ",
    text(e.country || e.site || e.location || ""),
    e.leaf_index !== undefined ? h("small", {}, ` leaf #${e.leaf_index}`) : null)));
}
async function landmarksById() {
  const res = await api("/v1/landmarks");
  const list = res.ok ? (res.body.landmarks || items(res.body)) : [];
  return Object.fromEntries(list.map((lm) => [lm.landmark_id, lm]));
}
async function showChip(chipId) {
  const id = encodeURIComponent(chipId);
  const [chip, verdicts, landmarks] = await Promise.all([
    api(`/v1/chips/${id}`), api(`/v1/chips/${id}/verdicts`), landmarksById(),
  ]);
  const parts = [h("h2", {}, `Chip ${chipId}`)];
  if (chip.ok) {
    const body = chip.body;
    const state = body.state || Object.fromEntries(
      Object.entries(body).filter(([, v]) => typeof v !== "object"));
    const flat = Object.fromEntries(Object.entries(state).map(([k, v]) => [k, text(v)]));
    parts.push(h("section", { id: "chip-summary" }, h("h3", {}, "Registry"), table([flat])));
    parts.push(h("section", {}, h("h3", {}, "Custody timeline"),
      timeline(body.history || body.custody || body.events || [])));
    if ((body.anomalies || []).length) {
      parts.push(h("section", {}, h("h3", {}, "Custody anomalies"),
        table(body.anomalies.map((a) => ({ kind: a.kind, leaf_index: a.leaf_index, message: a.message })),
          null, "custody-anomalies")));
    }
  } else parts.push(h("section", { id: "chip-summary" }, h("h3", {}, "Registry"), problem(chip)));
  const history = verdicts.ok ? items(verdicts.body) : [];
  const latest = history[0];
  const section = h("section", { id: "chip-location" }, h("h3", {}, "Location"));
  if (!verdicts.ok) section.append(problem(verdicts));
  else if (!latest) section.append(h("p", { class: "empty" }, "no location verdict yet"));
  else {
    const svg = await worldSvg("chip-map");
    const legend = drawRegions(svg, latest, landmarks);
    const evidence = (latest.evidence && latest.evidence.evidence) || [];
    for (const v of [...history].reverse()) {
      const pos = chipPosition(v);
      if (!pos) continue;
      const [x, y] = project(pos[0], pos[1]);
      svg.append(s("circle", { cx: x, cy: y, r: 4 * Number(svg.dataset.k), class: "chip",
        "vector-effect": "non-scaling-stroke", fill: VERDICT_COLOURS[String(v.verdict).toUpperCase()] || "#7f7f7f" }));
    }
    section.append(verdictBadge(latest.verdict), " ",
      h("span", { id: "verdict-reason" }, text(latest.evidence && latest.evidence.reason)), svg, legend,
      h("h4", {}, "Regions over time"),
      table(history.map((v) => ({
        computed_at: v.computed_at, verdict: v.verdict,
        proven_countries: v.proven_countries.join(" "), likely_countries: v.likely_countries.join(" "),
        declared_country: v.declared_country || "", landmarks: v.n_landmarks,
      })), null, "location-history"),
      h("h4", {}, "Evidence"),
      table(evidence.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, text(v)]))),
        null, "location-evidence"));
  }
  parts.push(section);
  view.replaceChildren(...parts);
}

// ---- the case queue ---------------------------------------------------------------------------
const CHANNELS = ["hand_carry", "transshipment", "cloud_rental", "split_orders", "front_network",
  "volume_gap", "repair"];
const STATUSES = ["open", "assigned", "confirmed", "false_alarm"];
const SEVERITIES = ["critical", "high", "medium", "low", "info"];
const SORTS = ["rank", "priority", "score", "updated", "detected", "findings"];
const PAGE_SIZE = 25;
let rulesCache = null;

function hashParams() {
  const q = (location.hash.split("?")[1] || "");
  return new URLSearchParams(q);
}
function when(iso) { // ISO 8601 -> "2026-10-12 11:56 UTC" (no microseconds)
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? text(iso) : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}
function select(id, label, values, current) {
  return h("label", { class: "field" }, label,
    h("select", { id, name: id }, h("option", { value: "" }, "any"),
      values.map((v) => h("option", { value: v, selected: v === current ? "" : null }, v))));
}
function input(id, label, current, type) {
  return h("label", { class: "field" }, label,
    h("input", { id, name: id, type: type || "text", value: current || "" }));
}
function severityBadge(sev) { return h("span", { class: `badge severity-${text(sev)}` }, text(sev)); }
async function showQueue() {
  if (!rulesCache) {
    const r = await api("/v1/rules");
    rulesCache = r.ok ? items(r.body).map((x) => x.rule_id || x.id) : [];
  }
  const params = hashParams();
  const offset = Number(params.get("offset") || 0);
  const query = new URLSearchParams();
  for (const k of ["channel", "rule", "severity", "status", "country", "owner", "q", "sort"]) {
    if (params.get(k)) query.set(k, params.get(k));
  }
  for (const k of ["since", "until"]) if (params.get(k)) query.set(k, `${params.get(k)}T00:00:00Z`);
  query.set("limit", PAGE_SIZE); query.set("offset", offset);
  const res = await api(`/v1/cases?${query}`);
  const form = h("form", { id: "queue-filters", class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const el of e.target.querySelectorAll("select, input")) if (el.value) next.set(el.name, el.value);
    location.hash = `#/queue?${next}`;
  } },
  input("q", "search", params.get("q")),
  select("channel", "channel", CHANNELS, params.get("channel")),
  select("rule", "rule", rulesCache, params.get("rule")),
  select("severity", "at least", SEVERITIES, params.get("severity")),
  select("status", "status", STATUSES, params.get("status")),
  input("country", "country", params.get("country")),
  input("owner", "owner", params.get("owner")),
  input("since", "since", params.get("since"), "date"),
  input("until", "until", params.get("until"), "date"),
  select("sort", "sort", SORTS, params.get("sort")),
  h("button", { type: "submit" }, "Apply"));
  if (!res.ok) { view.replaceChildren(h("h2", {}, "Case queue"), form, problem(res)); return; }
  const list = items(res.body);
  const rows = list.map((c) => h("tr", { "data-case": c.id, tabindex: "-1" },
    h("td", { "data-label": "#" }, text(c.rank)),
    h("td", { "data-label": "priority" }, text(c.priority)),
    h("td", { "data-label": "severity" }, severityBadge(c.severity)),
    h("td", { "data-label": "case", class: "title" }, h("a", { href: `#/case/${c.id}` }, text(c.title))),
    h("td", { "data-label": "channels" }, c.channels.join(", ")),
    h("td", { "data-label": "chips" }, text(c.chip_count)),
    h("td", { "data-label": "findings" }, text(c.finding_count)),
    h("td", { "data-label": "status", class: "state" }, text(c.status)),
    h("td", { "data-label": "owner" }, text(c.assignee || "")),
    h("td", { "data-label": "detected" }, when(c.first_detected_at))));
  const total = res.body.total;
  const pageLink = (to, label, id) => {
    const next = new URLSearchParams(params); next.set("offset", to);
    return h("a", { id, href: `#/queue?${next}`, class: "button" }, label);
  };
  const pager = h("nav", { class: "pager", "aria-label": "pages" },
    offset > 0 ? pageLink(Math.max(0, offset - PAGE_SIZE), "← previous", "page-prev") : null,
    h("span", { id: "queue-count" }, total ? `${offset + 1}–${offset + list.length} of ${total} cases` : "no cases"),
    offset + list.length < total ? pageLink(offset + PAGE_SIZE, "next →", "page-next") : null);
  view.replaceChildren(h("h2", {}, "Case queue"), form,
    h("p", { class: "hint" }, "Keys: j / k move, Enter opens, / searches. ",
      h("button", { id: "export-report", class: "secondary", onclick: () => exportReport() },
        "Export all findings (CSV)"), " ", h("span", { id: "triage-status", role: "status" })),
    h("div", { class: "scroll" }, h("table", { id: "queue-table", class: "cards" },
      h("thead", {}, h("tr", {}, ["#", "priority", "severity", "case", "channels", "chips",
        "findings", "status", "owner", "first detected"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows))), pager);
  selectRow(0);
}
async function exportReport() {
  const res = await fetch("/v1/reports/findings?format=csv",
    { headers: apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {} });
  const status = document.getElementById("triage-status");
  if (!res.ok) { status.textContent = `export refused (${res.status})`; return; }
  const blob = await res.blob();
  const a = h("a", { href: URL.createObjectURL(blob), download: "chiptrail-findings.csv" });
  document.body.append(a); a.click(); a.remove();
  status.textContent = `report exported (${blob.size} bytes)`;
}
let selected = 0;
function selectRow(i) {
  const rows = [...document.querySelectorAll("#queue-table tbody tr")];
  if (!rows.length) return;
  selected = Math.max(0, Math.min(rows.length - 1, i));
  rows.forEach((r, n) => r.classList.toggle("selected", n === selected));
}
document.addEventListener("keydown", (e) => {
  if (document.body.dataset.page !== "queue") return;
  if (["INPUT", "SELECT", "TEXTAREA"].includes(e.target.tagName)) return;
  if (e.key === "j") selectRow(selected + 1);
  else if (e.key === "k") selectRow(selected - 1);
  else if (e.key === "/") { e.preventDefault(); document.getElementById("q").focus(); }
  else if (e.key === "Enter") {
    const row = document.querySelectorAll("#queue-table tbody tr")[selected];
    if (row) location.hash = `#/case/${row.dataset.case}`;
  }
});

// ---- one case ---------------------------------------------------------------------------------
const b64bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
function concat(...xs) {
  const out = new Uint8Array(xs.reduce((n, x) => n + x.length, 0));
  let i = 0; for (const x of xs) { out.set(x, i); i += x.length; } return out;
}
async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
async function verifyInclusion(p, size, root) { // RFC 9162 section 2.1.3.2
  let r = await sha256(concat(new Uint8Array([0]), b64bytes(p.entry)));
  let fn = p.index, sn = size - 1;
  for (const hash of p.hashes.map(b64bytes)) {
    if (sn === 0) return false;
    if ((fn & 1) || fn === sn) {
      r = await sha256(concat(new Uint8Array([1]), hash, r));
      while (!(fn & 1) && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else r = await sha256(concat(new Uint8Array([1]), r, hash));
    fn >>= 1; sn >>= 1;
  }
  return sn === 0 && r.length === root.length && r.every((v, i) => v === root[i]);
}
async function proveLeaves(caseId) { // checkpoint -> proofs at its size -> verified here
  const cp = await api("/v1/log/checkpoint");
  if (!cp.ok) return {};
  const lines = String(cp.body).split("\n");
  const size = Number(lines[1]), root = b64bytes(lines[2]);
  const res = await api(`/v1/cases/${encodeURIComponent(caseId)}/proofs?size=${size}`);
  const out = {};
  for (const p of res.ok ? res.body.proofs : []) {
    out[p.index] = await verifyInclusion(p, size, root).catch(() => false);
  }
  return out;
}
async function triageCase(id, action, fields) {
  const res = await api(`/v1/cases/${encodeURIComponent(id)}/triage`,
    { method: "POST", json: { action, ...fields } });
  if (res.ok) await showCase(id);
  document.getElementById("triage-status").textContent = res.ok ? `${action} saved`
    : `${res.status}: ${res.body && res.body.error ? res.body.error.message : "refused"}`;
}
async function exportCaseFile(id, kind) { // kind: "html" or "pdf"
  const res = await fetch(`/v1/cases/${encodeURIComponent(id)}/file${kind === "pdf" ? ".pdf" : ""}`,
    { headers: apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {} });
  const status = document.getElementById("triage-status");
  if (!res.ok) { status.textContent = `export refused (${res.status})`; return; }
  const blob = await res.blob();
  const a = h("a", { href: URL.createObjectURL(blob), download: `chiptrail-case-${id}.${kind}` });
  document.body.append(a); a.click(); a.remove();
  status.textContent = `case file exported as ${kind.toUpperCase()} (${blob.size} bytes)`;
}
function subjectLink(kind, subject, names) {
  if (kind === "chip") return h("a", { href: `#/chip/${subject}` }, subject);
  if (kind === "party") return h("a", { href: `#/party/${subject}` }, names[subject] || subject);
  return text(subject);
}
// ---- proven and likely regions -----------------------------------------------------------------
// A verdict's disks: the chip is within proven_km of each landmark (light speed) and likely within
// likely_km (calibrated); each region is the intersection of its disks (geodesic circles), filled
// through nested clip paths. Verdicts stored before the disks were kept give proven bounds only.
function verdictDisks(latest) {
  const ev = latest.evidence || {};
  if (Array.isArray(ev.disks) && ev.disks.length) {
    return ev.disks.map((d) => ({ id: d.landmark_id, proven: d.proven_km, likely: d.likely_km }));
  }
  return (ev.evidence || []).map((e) => ({ id: e.landmark_id, likely: null,
    proven: typeof e.bound_km === "number" && e.kind !== "likely" ? e.bound_km
      : typeof e.rtt_ms === "number" ? e.rtt_ms * 149.896 : null })) // c * RTT / 2, km per ms
    .filter((d) => typeof d.proven === "number");
}
const EARTH_KM = 6371.0088;
function diskRing(lm, km) { // the disk's edge as [lon, lat] points, longitudes unwrapped
  const rad = Math.PI / 180, d = km / EARTH_KM, f1 = lm.lat * rad, l1 = lm.lon * rad;
  const ring = [];
  let prev = null;
  for (let i = 0; i <= 180; i++) {
    const b = (i / 180) * 2 * Math.PI;
    const f2 = Math.asin(Math.sin(f1) * Math.cos(d) + Math.cos(f1) * Math.sin(d) * Math.cos(b));
    let l2 = (l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(f1),
      Math.cos(d) - Math.sin(f1) * Math.sin(f2))) / rad;
    if (prev !== null) { while (l2 - prev > 180) l2 -= 360; while (l2 - prev < -180) l2 += 360; }
    ring.push([l2, f2 / rad]); prev = l2;
  }
  return ring;
}
function diskShape(lm, km, cls) { // a geodesic disk on the equirectangular map, wrapped at ±180°
  const d = km / EARTH_KM, f1 = (lm.lat * Math.PI) / 180;
  const attrs = { class: cls || "", "vector-effect": "non-scaling-stroke", "clip-rule": "evenodd", "fill-rule": "evenodd" };
  const rect = `M0,0H${MAP_W}V${MAP_H}H0Z`;
  if (d >= Math.PI) return s("path", { d: cls ? "" : rect, ...attrs }); // the whole Earth: no edge
  const ring = diskRing(lm, km);
  const north = Math.PI / 2 - f1 < d, south = Math.PI / 2 + f1 < d;
  const outline = Boolean(cls); // an outline strokes the edge only; a clip shape is closed
  const sub = (shift) => {
    let path = ring.map(([lon, lat], i) => {
      const [x, y] = project(lat, lon + shift);
      return `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    }).join("");
    if (outline) return path;
    if (north !== south) { // it holds one pole: close the band along that pole's edge
      const pole = north ? 90 : -90, last = ring[ring.length - 1][0], first = ring[0][0];
      const [xa, ya] = project(pole, last + shift), [xb] = project(pole, first + shift);
      path += `L${xa.toFixed(1)},${ya.toFixed(1)}L${xb.toFixed(1)},${ya.toFixed(1)}`;
    }
    return `${path}Z`;
  };
  const copies = [-360, 0, 360].map(sub).join("");
  const el = s("path", { d: north && south && !outline ? rect + copies : copies, ...attrs }); // both: all but a hole
  const xs = ring.map(([lon]) => ((lon + 180) / 360) * MAP_W), ys = ring.map(([, lat]) => ((90 - lat) / 180) * MAP_H);
  el.dataset.box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)].map((v) => v.toFixed(1)).join(" ");
  return el;
}
let clipSeq = 0;
function intersection(svg, shapes, cls) { // the area inside every shape
  let defs = svg.querySelector("defs");
  if (!defs) { defs = s("defs", {}); svg.prepend(defs); }
  let inner = s("rect", { x: 0, y: 0, width: MAP_W, height: MAP_H, class: cls });
  for (const shape of shapes) {
    const id = `clip-${++clipSeq}`;
    defs.append(s("clipPath", { id }, shape));
    inner = s("g", { "clip-path": `url(#${id})` }, inner);
  }
  return inner;
}
function drawRegions(svg, latest, landmarks) { // frames the regions; returns the legend
  const disks = verdictDisks(latest).filter((d) => landmarks[d.id]);
  const ev = latest.evidence || {};
  const proven = latest.proven_countries || ev.proven_countries || [];
  const likelyIn = latest.likely_countries || ev.likely_countries || [];
  const likely = disks.filter((d) => typeof d.likely === "number");
  const tight = disks.reduce((a, d) => (a && a.proven <= d.proven ? a : d), null);
  let k = 1; // map units per screen unit after framing
  if (tight) { // the proven region lies inside the tightest proven disk: frame that
    const lm = landmarks[tight.id];
    const [bx0, by0, bx1, by1] = (diskShape(lm, tight.proven).dataset.box || "0 0 960 480").split(" ").map(Number);
    const w = Math.min(MAP_W, Math.max(160, 1.5 * (bx1 - bx0), 3 * (by1 - by0))), hh = w / 2;
    const x = (bx0 + bx1) / 2, y = (by0 + by1) / 2;
    const x0 = Math.max(0, Math.min(MAP_W - w, x - w / 2)), y0 = Math.max(0, Math.min(MAP_H - hh, y - hh / 2));
    svg.setAttribute("viewBox", `${x0.toFixed(1)} ${y0.toFixed(1)} ${w.toFixed(1)} ${hh.toFixed(1)}`);
    k = w / MAP_W;
  }
  svg.dataset.k = String(k);
  if (disks.length) svg.append(intersection(svg, disks.map((d) => diskShape(landmarks[d.id], d.proven)), "region-proven"));
  if (likely.length) svg.append(intersection(svg, likely.map((d) => diskShape(landmarks[d.id], d.likely)), "region-likely"));
  for (const d of disks) {
    svg.append(diskShape(landmarks[d.id], d.proven, "region"));
    if (typeof d.likely === "number") svg.append(diskShape(landmarks[d.id], d.likely, "likely-disk"));
    const [x, y] = project(landmarks[d.id].lat, landmarks[d.id].lon);
    const lm = s("rect", { x: x - 3 * k, y: y - 3 * k, width: 6 * k, height: 6 * k, class: "landmark" });
    lm.append(s("title", {}, document.createTextNode(String(d.id))));
    svg.append(lm);
  }
  const names = (cs) => (cs.length ? cs.join(", ") : "not attributed");
  return h("ul", { class: "region-legend" },
    h("li", { "data-region": "proven" }, h("span", { class: "swatch swatch-proven" }),
      `proven region: inside every blue circle, distance ≤ c·RTT/2 from each landmark (countries: ${names(proven)})`),
    h("li", { "data-region": "likely" }, h("span", { class: "swatch swatch-likely" }),
      likely.length ? `likely region: inside every orange circle, the calibrated RTT-to-distance line (countries: ${names(likelyIn)})`
        : "likely region: not recorded for this verdict"),
    h("li", {}, "■ landmark · ● the chip's point estimate"));
}
const REGION_TRIES = 25;
async function regionMap(chips) { // the first measured chip's latest verdict: proven and likely regions
  const landmarks = await landmarksById();
  let chipId = null, latest = null;
  for (const id of chips.slice(0, REGION_TRIES)) {
    const verdicts = await api(`/v1/chips/${encodeURIComponent(id)}/verdicts?limit=1`);
    latest = verdicts.ok ? items(verdicts.body)[0] : null;
    if (latest) { chipId = id; break; }
  }
  if (!latest) {
    const which = chips.length > REGION_TRIES ? `none of its first ${REGION_TRIES} chips` : `none of its ${chips.length} chip(s)`;
    return h("p", { class: "empty", id: "no-verdict" }, `${which} has a location verdict: never answered a probe`);
  }
  const svg = await worldSvg("case-map");
  const legend = drawRegions(svg, latest, landmarks);
  const pos = chipPosition(latest);
  if (pos) {
    const [x, y] = project(pos[0], pos[1]);
    svg.append(s("circle", { cx: x, cy: y, r: 4 * Number(svg.dataset.k), class: "chip",
      "vector-effect": "non-scaling-stroke", fill: VERDICT_COLOURS[String(latest.verdict).toUpperCase()] || "#7f7f7f" }));
  }
  return h("div", {}, h("p", {}, verdictBadge(latest.verdict), ` ${chipId}, ${when(latest.computed_at)}: `,
    text(latest.evidence && latest.evidence.reason)), svg, legend);
}
async function showCase(caseId) {
  const res = await api(`/v1/cases/${encodeURIComponent(caseId)}`);
  if (!res.ok) { view.replaceChildren(h("h2", {}, "Case"), problem(res)); return; }
  const c = res.body, names = c.party_names || {};
  const proofs = await proveLeaves(caseId);
  const who = h("input", { id: "triage-assignee", placeholder: "assignee", "aria-label": "assignee" });
  const note = h("input", { id: "triage-comment", placeholder: "comment", "aria-label": "comment" });
  const prio = h("select", { id: "triage-priority", "aria-label": "priority" },
    ["P1", "P2", "P3", "P4"].map((p) => h("option", { value: p, selected: p === c.priority ? "" : null }, p)));
  const closed = c.status === "confirmed" || c.status === "false_alarm";
  const actions = h("div", { id: "triage", class: "actions" },
    who, h("button", { id: "do-assign", onclick: () => triageCase(c.id, "assign", { assignee: who.value, comment: note.value || null }) }, "Assign"),
    prio, h("button", { id: "do-priority", onclick: () => triageCase(c.id, "prioritise", { priority: prio.value }) }, "Set priority"),
    note, h("button", { id: "do-comment", onclick: () => triageCase(c.id, "comment", { comment: note.value }) }, "Comment"),
    closed ? h("button", { id: "do-reopen", onclick: () => triageCase(c.id, "reopen", { comment: note.value || null }) }, "Reopen")
      : [h("button", { id: "do-confirm", onclick: () => triageCase(c.id, "close", { resolution: "confirmed", comment: note.value || null }) }, "Confirm diversion"),
        h("button", { id: "do-false", onclick: () => triageCase(c.id, "close", { resolution: "false_alarm", comment: note.value || null }) }, "False alarm")],
    h("button", { id: "export-case", class: "secondary", onclick: () => exportCaseFile(c.id, "html") }, "Export case file"),
    h("button", { id: "export-case-pdf", class: "secondary", onclick: () => exportCaseFile(c.id, "pdf") }, "Export PDF"));
  const evidence = h("ol", { id: "case-evidence", class: "timeline" }, c.evidence.map((e) => {
    const proof = e.leaf_index === null || e.leaf_index === undefined ? null
      : proofs[e.leaf_index] === true ? h("span", { class: "badge proof-ok" }, "inclusion proof verified")
        : h("span", { class: "badge proof-bad" }, "inclusion proof not verified");
    return h("li", { "data-ref": e.ref }, h("time", {}, when(e.at)), " ",
      h("strong", {}, text(e.kind)), " ", h("code", {}, text(e.ref)), " ", text(e.detail), " ", proof);
  }));
  view.replaceChildren(
    h("h2", { id: "case-title" }, text(c.title)),
    h("p", { id: "case-meta" }, severityBadge(c.severity), ` priority ${c.priority} · status `,
      h("strong", { id: "case-status" }, c.status), ` · owner ${c.assignee || "nobody"} · `,
      `channels ${c.channels.join(", ")} · rules ${c.rules.join(", ")}`),
    actions, h("p", { id: "triage-status", role: "status" }),
    h("section", {}, h("h3", {}, `Chips (${c.chips.length})`),
      h("ul", { id: "case-chips", class: "chips" }, c.chips.map((id) => h("li", {}, h("a", { href: `#/chip/${id}` }, id))))),
    h("section", {}, h("h3", {}, "Parties"),
      c.parties.length ? h("ul", { id: "case-parties" }, c.parties.map((id) => h("li", {}, h("a", { href: `#/party/${id}` }, names[id] || id), ` (${id})`)))
        : h("p", { id: "case-parties", class: "empty" }, "no party has a finding in this case")),
    h("section", {}, h("h3", {}, `Findings (${c.findings.length})`),
      h("ul", { id: "case-findings" }, c.findings.map((f) => h("li", { "data-finding": f.id },
        severityBadge(f.severity), " ", h("a", { href: `#/finding/${f.id}` }, f.rule), " on ",
        subjectLink(f.subject_kind, f.subject, names), ` (${when(f.detected_at)}): `, text(f.explanation))))),
    h("section", {}, h("h3", {}, "Evidence in time order"), evidence),
    c.chips.length ? h("section", { id: "case-location" }, h("h3", {}, "Where its chips were measured"),
      await regionMap(c.chips)) : null,
    h("section", {}, h("h3", {}, "Comments"),
      c.comments.length ? h("ul", { id: "case-comments" }, c.comments.map((m) =>
        h("li", {}, h("time", {}, when(m.created_at)), ` ${m.author}: `, text(m.body))))
        : h("p", { class: "empty", id: "case-comments" }, "no comments yet")),
    h("section", {}, h("h3", {}, "History"),
      h("ol", { id: "case-history" }, c.history.map((e) =>
        h("li", {}, h("time", {}, when(e.at)), ` ${e.actor} ${e.action}: `, text(e.detail))))));
}
async function showFinding(id) {
  const res = await api(`/v1/findings/${encodeURIComponent(id)}`);
  if (!res.ok) { view.replaceChildren(h("h2", {}, "Finding"), problem(res)); return; }
  const f = res.body;
  view.replaceChildren(h("h2", {}, `${f.rule} on ${f.subject}`),
    h("p", {}, severityBadge(f.severity), ` ${f.channel}, detected ${when(f.detected_at)} · `,
      h("a", { id: "finding-case", href: `#/case/${f.case_id}` }, "open its case")),
    h("p", { id: "finding-explanation" }, text(f.explanation)),
    h("ul", { id: "finding-evidence" }, f.evidence.map((e) => h("li", {},
      h("strong", {}, e.kind), " ", h("code", {}, e.ref), " ", text(e.detail)))));
}

// ---- parties ----------------------------------------------------------------------------------
function ownershipGraph(view) {
  const self = (view.party && view.party.party_id) || view.party_id;
  const edges = [...(view.owners || []), ...(view.subsidiaries || [])];
  const svg = s("svg", { id: "ownership-graph", viewBox: "0 0 600 260", class: "graph" });
  const nodes = new Map([[self, 0]]);
  for (const e of edges) for (const n of [e.owner_id, e.asset_id]) if (!nodes.has(n)) nodes.set(n, nodes.size);
  const n = Math.max(nodes.size, 1);
  const pos = (i) => (n === 1 ? [300, 130]
    : [300 + 200 * Math.cos((2 * Math.PI * i) / n), 130 + 100 * Math.sin((2 * Math.PI * i) / n)]);
  for (const e of edges) {
    const [x1, y1] = pos(nodes.get(e.owner_id)), [x2, y2] = pos(nodes.get(e.asset_id));
    svg.append(s("line", { x1, y1, x2, y2, class: "edge" }));
    const label = s("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2, class: "edge-label" });
    label.textContent = e.percentage === null || e.percentage === undefined ? "owns" : `${e.percentage}%`;
    svg.append(label);
  }
  for (const [name, i] of nodes) {
    const [x, y] = pos(i);
    svg.append(s("circle", { cx: x, cy: y, r: 8, class: i === 0 ? "node self" : "node", "data-party": name }));
    const t = s("text", { x: x + 10, y: y - 10, class: "node-label" }); t.textContent = text(name);
    svg.append(t);
  }
  return svg;
}
function hitRows(body) {
  const rows = [];
  for (const r of (body && body.results) || []) {
    for (const m of r.matches || r.hits || []) {
      rows.push({ query: text(r.name || (r.query && r.query.name) || ""), party_id: m.party_id,
        list_id: m.list_id, score: typeof m.score === "number" ? m.score.toFixed(3) : text(m.score),
        matched_name: m.matched_name, explanation: text(m.explanation || "") });
    }
  }
  return rows;
}
async function screenName(name, target) {
  const res = await api("/v1/screen", { method: "POST", json: { name } });
  target.replaceChildren(res.ok ? table(hitRows(res.body), null, "hits-table") : problem(res));
}
async function showParty(partyId) {
  const search = h("form", { id: "party-search", onsubmit: (e) => {
    e.preventDefault(); location.hash = `#/party/${document.getElementById("party-id").value}`;
  } }, h("input", { id: "party-id", placeholder: "party id", value: partyId || "" }), h("button", {}, "Open party"));
  const hits = h("div", { id: "screening-hits" });
  const screen = h("form", { id: "screen-form", onsubmit: (e) => {
    e.preventDefault(); screenName(document.getElementById("screen-name").value, hits);
  } }, h("input", { id: "screen-name", placeholder: "name to screen" }), h("button", {}, "Screen"));
  const parts = [h("h2", {}, partyId ? `Party ${partyId}` : "Parties"), search];
  if (partyId) {
    const res = await api(`/v1/parties/${encodeURIComponent(partyId)}`);
    if (res.ok) {
      const p = res.body.party || res.body;
      const summary = { party_id: p.party_id, name: p.name, schema: p.schema,
        countries: (p.countries || []).join(" "),
        status: res.body.is_restricted ? "restricted" : "not restricted",
        ultimate_parents: ((res.body.ultimate_parents || {}).parents || []).join(" ") };
      const own = h("div", { id: "party-hits" });
      parts.push(h("section", { id: "party-summary" }, table([summary])),
        h("section", {}, h("h3", {}, "Ownership graph"), ownershipGraph(res.body)),
        h("section", {}, h("h3", {}, "Restrictions"),
          table((res.body.restrictions || []).map((r) => ({ why: r.explanation || text(r) })), null, "restrictions"),
          table((res.body.list_matches || []).map((m) => ({ party: m.party_id, list: m.list_id,
            entry: m.entry_name, score: Number(m.score).toFixed(2), list_version: m.list_sha256.slice(0, 16),
            list_date: when(m.list_loaded_at) })), null, "list-matches")),
        h("section", {}, h("h3", {}, `Screening hits for “${p.name}”`), own));
      await screenName(p.name, own);
    } else parts.push(problem(res));
  }
  if (!partyId) {
    const list = await api("/v1/parties?limit=500");
    parts.push(h("section", {}, h("h3", {}, "Stored parties"), list.ok
      ? h("div", { class: "scroll" }, h("table", { id: "party-list", class: "cards" },
        h("thead", {}, h("tr", {}, ["name", "id", "countries", "status", "why"].map((c) => h("th", {}, c)))),
        h("tbody", {}, items(list.body).map((x) => h("tr", { "data-party": x.party_id },
          h("td", { "data-label": "name" }, h("a", { href: `#/party/${x.party_id}` }, x.name)),
          h("td", { "data-label": "id" }, x.party_id),
          h("td", { "data-label": "countries" }, x.countries.join(" ")),
          h("td", { "data-label": "status", class: x.is_restricted ? "restricted" : "" },
            x.is_restricted ? "restricted" : "not restricted"),
          h("td", { "data-label": "why" }, text(x.restriction || "")))))))
      : problem(list)));
  }
  parts.push(h("section", {}, h("h3", {}, "Screen a name"), screen, hits));
  view.replaceChildren(...parts);
}

// ---- log --------------------------------------------------------------------------------------
async function showLog() {
  const cp = await api("/v1/log/checkpoint");
  const spec = await api("/openapi.json");
  const proofPaths = spec.ok ? Object.keys(spec.body.paths).filter((p) => p.startsWith("/v1/log/proof")) : [];
  const forms = proofPaths.map((template) => {
    const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const params = (spec.body.paths[template].get.parameters || []).filter((p) => p.in === "query");
    const inputs = [...names, ...params.map((p) => p.name)].map((n) =>
      h("input", { name: n, placeholder: n, "aria-label": n }));
    const out = h("pre", { class: "proof-out" });
    return h("form", { class: "proof-form", "data-template": template, onsubmit: async (e) => {
      e.preventDefault();
      let path = template; const query = new URLSearchParams();
      for (const input of inputs) {
        if (names.includes(input.name)) path = path.replace(`{${input.name}}`, encodeURIComponent(input.value));
        else if (input.value) query.set(input.name, input.value);
      }
      const res = await api(path + (query.toString() ? `?${query}` : ""));
      out.textContent = res.ok ? text(res.body) : `${res.status}: ${text(res.body.error ? res.body.error.message : res.body)}`;
    } }, h("code", {}, template), ...inputs, h("button", {}, "Look up"), out);
  });
  view.replaceChildren(h("h2", {}, "Transparency log"),
    h("section", {}, h("h3", {}, "Latest checkpoint"),
      cp.ok ? h("pre", { id: "checkpoint" }, text(cp.body)) : problem(cp)),
    h("section", { id: "proof-lookup" }, h("h3", {}, "Proof lookup"),
      forms.length ? forms : h("p", { class: "empty" }, "this server publishes no proof endpoints")));
}

// ---- router -----------------------------------------------------------------------------------
async function route() {
  const [, rawPage, ...rest] = (location.hash || "#/queue").split("/");
  const page = rawPage.split("?")[0];
  const arg = decodeURIComponent(rest.join("/"));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.id === `nav-${page}`));
  view.replaceChildren(h("p", { class: "loading" }, "loading…"));
  if (page === "chip" && arg) await showChip(arg);
  else if (page === "queue" || page === "findings") await showQueue();
  else if (page === "case" && arg) await showCase(arg.split("?")[0]);
  else if (page === "finding" && arg) await showFinding(arg);
  else if (page === "party") await showParty(arg);
  else if (page === "log") await showLog();
  else await showMap();
  document.body.dataset.page = page || "map";
  document.body.dataset.ready = "1";
}
document.getElementById("signin").addEventListener("submit", async (e) => {
  e.preventDefault();
  sessionStorage.setItem("chiptrail-key", document.getElementById("api-key").value.trim());
  document.getElementById("api-key").value = "";
  await refreshWhoami();
  await route();
});
window.addEventListener("hashchange", () => { document.body.dataset.ready = "0"; route(); });
refreshWhoami();
route();
