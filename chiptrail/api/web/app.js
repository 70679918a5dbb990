// chiptrail dashboard: a client of the public /v1 API and nothing else.
// Pages (hash routes): #/map, #/chip/ID, #/findings, #/party/ID, #/log.
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
async function showMap() {
  const svg = await worldSvg("world-map");
  const { res, chips } = await loadChips();
  const counts = {};
  for (const chip of chips) {
    const pos = chipPosition(chip);
    const verdict = String(chip.verdict || "UNVERIFIED").toUpperCase();
    counts[verdict] = (counts[verdict] || 0) + 1;
    if (!pos) continue;
    const [x, y] = project(pos[0], pos[1]);
    const dot = s("circle", {
      cx: x.toFixed(1), cy: y.toFixed(1), r: 5, class: "chip",
      fill: VERDICT_COLOURS[verdict] || "#7f7f7f", "data-verdict": verdict,
      "data-chip": chip.chip_id, onclick: () => { location.hash = `#/chip/${chip.chip_id}`; },
    });
    dot.append(s("title", {}, document.createTextNode(`${chip.chip_id}: ${verdict}`)));
    svg.append(dot);
  }
  const legend = h("ul", { id: "legend" }, Object.entries(VERDICT_COLOURS).map(([v, c]) =>
    h("li", { "data-colour": c }, h("span", { class: `swatch swatch-${v.toLowerCase()}` }),
      `${v} (${counts[v] || 0})`)));
  const go = h("form", { id: "chip-search", onsubmit: (e) => {
    e.preventDefault(); location.hash = `#/chip/${document.getElementById("chip-id").value}`;
  } }, h("input", { id: "chip-id", placeholder: "chip id" }), h("button", {}, "Open chip"));
  view.replaceChildren(h("h2", {}, "Chips by location verdict"), go, svg, legend,
    res.ok ? h("p", { id: "chip-count" }, `${chips.length} chips`) : problem(res));
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
    const evidence = (latest.evidence && latest.evidence.evidence) || [];
    for (const e of evidence) { // proven disks: distance <= bound_km around each landmark
      const lm = landmarks[e.landmark_id];
      if (!lm || typeof e.bound_km !== "number") continue;
      const [x, y] = project(lm.lat, lm.lon);
      svg.append(s("circle", { cx: x, cy: y, class: "region",
        r: Math.max(2, (e.bound_km / 111.2) * (MAP_W / 360)) }));
      svg.append(s("rect", { x: x - 3, y: y - 3, width: 6, height: 6, class: "landmark" }));
    }
    for (const v of [...history].reverse()) {
      const pos = chipPosition(v);
      if (!pos) continue;
      const [x, y] = project(pos[0], pos[1]);
      svg.append(s("circle", { cx: x, cy: y, r: 4, class: "chip",
        fill: VERDICT_COLOURS[String(v.verdict).toUpperCase()] || "#7f7f7f" }));
    }
    section.append(verdictBadge(latest.verdict), " ",
      h("span", { id: "verdict-reason" }, text(latest.evidence && latest.evidence.reason)), svg,
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

// ---- findings ---------------------------------------------------------------------------------
async function triage(id, action, fields) {
  const res = await api(`/v1/findings/${encodeURIComponent(id)}/triage`,
    { method: "POST", json: { action, ...fields } });
  const status = document.getElementById("triage-status");
  status.textContent = res.ok ? `finding ${id}: ${action} saved` : `${res.status}: ${
    res.body && res.body.error ? res.body.error.message : "refused"}`;
  if (res.ok) await showFindings(true);
}
async function exportReport() {
  const res = await fetch("/v1/reports/findings?format=csv",
    { headers: apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {} });
  const status = document.getElementById("triage-status");
  if (!res.ok) { status.textContent = `export refused (${res.status})`; return; }
  const blob = await res.blob();
  const a = h("a", { href: URL.createObjectURL(blob), download: "chiptrail-findings.csv", id: "report-link" });
  document.body.append(a); a.click(); a.remove();
  status.textContent = `report exported (${blob.size} bytes)`;
}
async function showFindings(keepStatus) {
  const [res, casesRes] = await Promise.all([api("/v1/findings?limit=200"), api("/v1/cases?limit=500")]);
  const list = res.ok ? items(res.body) : [];
  const caseOf = Object.fromEntries((casesRes.ok ? items(casesRes.body) : []).map((c) => [c.id, c]));
  const rows = list.map((f) => {
    const kase = caseOf[f.case_id] || {};
    const id = f.finding_id ?? f.id;
    const who = h("input", { placeholder: "assignee", "aria-label": `assignee of ${id}` });
    const note = h("input", { placeholder: "comment", "aria-label": `comment on ${id}` });
    return h("tr", { "data-finding": id },
      h("td", {}, text(id)), h("td", {}, text(f.rule)),
      h("td", {}, h("span", { class: `badge severity-${text(f.severity)}` }, text(f.severity))),
      h("td", {}, f.subject_kind === "chip" ? h("a", { href: `#/chip/${f.subject}` }, text(f.subject))
        : f.subject_kind === "party" ? h("a", { href: `#/party/${f.subject}` }, text(f.subject)) : text(f.subject)),
      h("td", { class: "state" }, text(kase.status || f.status || "open")),
      h("td", { class: "assignee" }, text(kase.assignee || f.assignee || "")),
      h("td", { class: "actions" }, who, h("button", { onclick: () => triage(id, "assign", { assignee: who.value }) }, "Assign"),
        note, h("button", { onclick: () => triage(id, "comment", { comment: note.value }) }, "Comment"),
        h("button", { onclick: () => triage(id, "close", { resolution: "confirmed", comment: note.value }) }, "Confirm"),
        h("button", { onclick: () => triage(id, "close", { resolution: "false_alarm", comment: note.value }) }, "False alarm")));
  });
  const tableEl = h("table", { id: "findings-table" },
    h("thead", {}, h("tr", {}, ["id", "rule", "severity", "subject", "status", "assignee", "triage"]
      .map((c) => h("th", {}, c)))), h("tbody", {}, rows));
  view.replaceChildren(h("h2", {}, "Findings queue"),
    h("button", { id: "export-report", onclick: () => exportReport() }, "Export report (CSV)"),
    h("p", { id: "triage-status", role: "status" }, keepStatus ? document.getElementById("triage-status")?.textContent || "" : ""),
    res.ok ? tableEl : problem(res));
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
        countries: (p.countries || []).join(" "), restricted: text(res.body.is_restricted),
        ultimate_parents: ((res.body.ultimate_parents || {}).parents || []).join(" ") };
      const own = h("div", { id: "party-hits" });
      parts.push(h("section", { id: "party-summary" }, table([summary])),
        h("section", {}, h("h3", {}, "Ownership graph"), ownershipGraph(res.body)),
        h("section", {}, h("h3", {}, "Restrictions"),
          table((res.body.restrictions || []).map((r) => ({ restriction: text(r) })), null, "restrictions")),
        h("section", {}, h("h3", {}, `Screening hits for “${p.name}”`), own));
      await screenName(p.name, own);
    } else parts.push(problem(res));
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
  const [, page, ...rest] = (location.hash || "#/map").split("/");
  const arg = decodeURIComponent(rest.join("/"));
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.id === `nav-${page}`));
  view.replaceChildren(h("p", { class: "loading" }, "loading…"));
  if (page === "chip" && arg) await showChip(arg);
  else if (page === "findings") await showFindings(false);
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
