// The aisgap map page: designated ports, trips, vessels dark now, encounters, loitering and
// dark rendezvous at sea over the bundled coastlines, the monthly tally (dark beside open calls), the estimated
// barrels against the annual cap, and the trips table. It talks to nothing but this service.
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const EARTH_RADIUS_NM = 3440.065;
  const TRACK_CONTEXT_HOURS = 24;
  // The vessel view lists its port visits this long either side of a trip: the voyage the
  // dark call sits in, open calls before and after.
  const VISIT_CONTEXT_DAYS = 30;
  // Tracks around trips are drawn when the table lists at most this many: a year of trips
  // drawn at once is a tangle and a large download; a month of them is readable.
  const TRACKS_UP_TO = 100;
  const PALETTE = ["#1f77b4", "#e8590c", "#2b8a3e", "#9c36b5", "#c92a2a", "#0b7285", "#5c940d", "#862e9c"];

  const state = {
    token: sessionStorage.getItem("aisgap-token"),
    k: 1,
    ports: [],
    trips: [],
    tally: [],
    darkNow: [],
    encounters: [],
    loitering: [],
    rendezvous: [],
    report: null,
    byKey: new Map(),
    portColour: new Map(),
    scaled: [],
    view: null,
    home: null,
    selectedKey: null,
    sort: { key: "dark_from", dir: 1 },
  };

  const $ = (id) => document.getElementById(id);
  const map = $("map");

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) {
      node.setAttribute(key, value);
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  function html(name, text, parent, className) {
    const node = document.createElement(name);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    if (parent) parent.appendChild(node);
    return node;
  }

  function titled(node, text) {
    el("title", {}, node).textContent = text;
    return node;
  }

  const tripKey = (g) => `${g.mmsi}@${g.dark_from}`;
  const shortTime = (t) => (t ? t.replace("T", " ").slice(0, 16) : "");
  const fixed = (v, places) => (v === null || v === undefined ? "" : Number(v).toFixed(places));
  const whole = (v) => (v === null || v === undefined ? "" : Math.round(v).toLocaleString("en-US"));

  function setStatus(text) {
    $("status").textContent = text || "";
  }

  // ---- talking to the service -------------------------------------------------------------

  class Unauthorized extends Error {}

  async function request(path) {
    const headers = {};
    if (state.token && path.startsWith("/api/")) headers.Authorization = `Bearer ${state.token}`;
    const response = await fetch(path, { headers });
    if (response.status === 401) {
      $("token-form").hidden = false;
      throw new Unauthorized("This service needs an access token.");
    }
    if (!response.ok) {
      let message = response.statusText;
      try {
        message = (await response.json()).error;
      } catch (_) {
        // not JSON: keep the status text
      }
      throw new Error(`${path}: ${message}`);
    }
    return response;
  }

  const getJson = async (path) => (await request(path)).json();

  // ---- projection and view ----------------------------------------------------------------

  // Equirectangular scaled by the cosine of the region's mean latitude: distances look right
  // in the few degrees around the ports, which is all this map is for.
  const project = (lon, lat) => [lon * state.k, -lat];

  function unproject(x, y) {
    return [x / state.k, -y];
  }

  function scaled(node, attribute, pixels) {
    state.scaled.push([node, attribute, pixels]);
    if (state.view) node.setAttribute(attribute, pixels / state.view.s);
    return node;
  }

  function applyView() {
    const v = state.view;
    if (!v) return;
    const width = map.clientWidth || 800;
    const height = map.clientHeight || 500;
    map.setAttribute(
      "viewBox",
      `${v.cx - width / 2 / v.s} ${v.cy - height / 2 / v.s} ${width / v.s} ${height / v.s}`,
    );
    for (const [node, attribute, pixels] of state.scaled) {
      node.setAttribute(attribute, pixels / v.s);
    }
  }

  let frame = 0;
  function scheduleView() {
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        applyView();
      });
    }
  }

  function fitBounds(bounds, padding) {
    const [x0, y0, x1, y1] = bounds;
    const width = map.clientWidth || 800;
    const height = map.clientHeight || 500;
    const spanX = Math.max(x1 - x0, 0.05);
    const spanY = Math.max(y1 - y0, 0.05);
    state.view = {
      cx: (x0 + x1) / 2,
      cy: (y0 + y1) / 2,
      s: Math.min(width / spanX, height / spanY) / (1 + 2 * (padding || 0.08)),
    };
    applyView();
  }

  function boundsOf(points) {
    let bounds = null;
    for (const [lon, lat] of points) {
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) continue;
      const [x, y] = project(lon, lat);
      bounds = bounds
        ? [Math.min(bounds[0], x), Math.min(bounds[1], y), Math.max(bounds[2], x), Math.max(bounds[3], y)]
        : [x, y, x, y];
    }
    return bounds;
  }

  function zoomAt(clientX, clientY, factor) {
    const v = state.view;
    if (!v) return;
    const box = map.getBoundingClientRect();
    const px = clientX - box.left - box.width / 2;
    const py = clientY - box.top - box.height / 2;
    const wx = v.cx + px / v.s;
    const wy = v.cy + py / v.s;
    v.s = Math.min(Math.max(v.s * factor, 2), 200000);
    v.cx = wx - px / v.s;
    v.cy = wy - py / v.s;
    scheduleView();
  }

  function zoomCentre(factor) {
    const box = map.getBoundingClientRect();
    zoomAt(box.left + box.width / 2, box.top + box.height / 2, factor);
  }

  function installPanZoom() {
    const pointers = new Map();
    let dragged = false;
    let captured = false;
    map.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        zoomAt(event.clientX, event.clientY, Math.exp(-event.deltaY * 0.0015));
      },
      { passive: false },
    );
    map.addEventListener("pointerdown", (event) => {
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      if (pointers.size === 1) {
        dragged = false;
        captured = false;
      }
    });
    map.addEventListener("pointermove", (event) => {
      const last = pointers.get(event.pointerId);
      if (!last || !state.view) return;
      const dx = event.clientX - last.x;
      const dy = event.clientY - last.y;
      if (!dragged && Math.hypot(dx, dy) < 4 && pointers.size === 1) return;
      if (!captured) {
        // Capture only once it is a drag, so that a plain click still reaches a trip.
        map.setPointerCapture(event.pointerId);
        captured = true;
        map.classList.add("dragging");
      }
      dragged = true;
      if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const before = Math.hypot(a.x - b.x, a.y - b.y);
        pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
        const [c, d] = [...pointers.values()];
        const after = Math.hypot(c.x - d.x, c.y - d.y);
        if (before > 0) zoomAt((c.x + d.x) / 2, (c.y + d.y) / 2, after / before);
        return;
      }
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      state.view.cx -= dx / state.view.s;
      state.view.cy -= dy / state.view.s;
      scheduleView();
    });
    const release = (event) => {
      pointers.delete(event.pointerId);
      if (pointers.size === 0) map.classList.remove("dragging");
    };
    map.addEventListener("pointerup", release);
    map.addEventListener("pointercancel", release);
    // A drag that ends over a trip must not select it.
    map.addEventListener(
      "click",
      (event) => {
        if (dragged) {
          event.stopPropagation();
          dragged = false;
        }
      },
      true,
    );
    $("zoom-in").addEventListener("click", () => zoomCentre(1.6));
    $("zoom-out").addEventListener("click", () => zoomCentre(1 / 1.6));
    $("zoom-fit").addEventListener("click", () => state.home && fitBounds(state.home));
    if (window.ResizeObserver) new ResizeObserver(() => scheduleView()).observe(map);
  }

  // ---- map layers -------------------------------------------------------------------------

  function ringPath(ring) {
    let d = "";
    ring.forEach(([lon, lat], i) => {
      const [x, y] = project(lon, lat);
      d += `${i ? "L" : "M"}${x.toFixed(4)} ${y.toFixed(4)}`;
    });
    return `${d}Z`;
  }

  function drawLand(land) {
    const layer = $("layer-land");
    for (const feature of land.features || []) {
      const g = feature.geometry;
      const polygons = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      const d = polygons.map((rings) => rings.map(ringPath).join("")).join("");
      if (d) el("path", { d, "fill-rule": "evenodd" }, layer);
    }
    const [west, south, east, north] = land.bbox || [120, 30, 150, 50];
    const layer2 = $("layer-graticule");
    let d = "";
    for (let lon = Math.ceil(west); lon <= east; lon += 1) {
      const [x, y0] = project(lon, south);
      const [, y1] = project(lon, north);
      d += `M${x} ${y0}V${y1}`;
    }
    for (let lat = Math.ceil(south); lat <= north; lat += 1) {
      const [x0, y] = project(west, lat);
      const [x1] = project(east, lat);
      d += `M${x0} ${y}H${x1}`;
    }
    el("path", { d }, layer2);
  }

  // The point `nm` nautical miles from (lat, lon) on `bearing` degrees, on a sphere.
  function destination(lat, lon, bearing, nm) {
    const d = nm / EARTH_RADIUS_NM;
    const b = (bearing * Math.PI) / 180;
    const p1 = (lat * Math.PI) / 180;
    const l1 = (lon * Math.PI) / 180;
    const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
    const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
    return [(l2 * 180) / Math.PI, (p2 * 180) / Math.PI];
  }

  function circle(lat, lon, nm) {
    const ring = [];
    for (let i = 0; i < 72; i += 1) ring.push(destination(lat, lon, i * 5, nm));
    return ring;
  }

  function drawPorts() {
    const layer = $("layer-ports");
    for (const port of state.ports) {
      const g = el("g", { class: "port", "data-port": port.name }, layer);
      titled(
        el("path", { class: "port-approach", d: ringPath(circle(port.lat, port.lon, port.approach_nm)) }, g),
        `${port.name}: approach ${port.approach_nm} nm`,
      );
      titled(
        el("path", { class: "port-coverage", d: ringPath(circle(port.lat, port.lon, port.coverage_nm)) }, g),
        `${port.name}: coverage ${port.coverage_nm} nm, ${port.hours_covered} of ${port.hours_heard} hours covered, ${port.mean_vessels_per_hour} vessels per hour`,
      );
      const zone = port.geometry || {};
      let d = "";
      if (zone.type === "MultiPolygon") {
        d = zone.coordinates.map((rings) => rings.map(ringPath).join("")).join("");
      } else {
        d = ringPath(circle(port.lat, port.lon, zone.radius_nm || 1));
      }
      titled(el("path", { class: "port-zone", d }, g), `${port.name}: ${port.trips} trips, ${port.dark_now} dark now`);
      const [x, y] = project(port.lon, port.lat);
      const label = el("text", { class: "port-label", x, y }, g);
      label.textContent = port.name;
      scaled(label, "font-size", 12);
      scaled(label, "dx", 8);
      scaled(label, "stroke-width", 3);
    }
  }

  function drawTrips() {
    const layer = $("layer-trips");
    for (const trip of state.trips) {
      const key = tripKey(trip);
      const g = el("g", { class: "trip", "data-trip": key }, layer);
      titled(g, `${trip.name || trip.mmsi} ${trip.port || ""}: dark ${shortTime(trip.dark_from)} to ${shortTime(trip.dark_until)} UTC`);
      const [ax, ay] = project(trip.from_lon, trip.from_lat);
      if (trip.until_lat !== null && trip.until_lon !== null) {
        const [bx, by] = project(trip.until_lon, trip.until_lat);
        el("line", { class: "leg", x1: ax, y1: ay, x2: bx, y2: by }, g);
        scaled(el("circle", { class: "fix-b", cx: bx, cy: by }, g), "r", 4.5);
      }
      scaled(el("circle", { class: "fix-a", cx: ax, cy: ay }, g), "r", 4.5);
      g.addEventListener("click", () => select(key, true));
      trip.node = g;
    }
  }

  function drawTracks(collection) {
    const layer = $("layer-tracks");
    layer.replaceChildren();
    for (const feature of collection.features || []) {
      const p = feature.properties || {};
      if (p.role !== "track" || !feature.geometry) continue;
      const lines = feature.geometry.type === "MultiLineString" ? feature.geometry.coordinates : [feature.geometry.coordinates];
      const d = lines.map((line) => line.map(([lon, lat], i) => {
        const [x, y] = project(lon, lat);
        return `${i ? "L" : "M"}${x.toFixed(4)} ${y.toFixed(4)}`;
      }).join("")).join("");
      const key = tripKey(p);
      const path = el("path", { class: "track", d, "data-trip": key }, layer);
      const trip = state.byKey.get(key);
      if (trip) {
        trip.trackNode = path;
        if (trip.node && trip.node.classList.contains("hidden")) path.classList.add("hidden");
      }
    }
  }

  function drawDarkNow() {
    const layer = $("layer-dark-now");
    const list = $("dark-now-list");
    list.replaceChildren();
    if (!state.darkNow.length) html("li", "No watched vessel is dark near a covered port now.", list, "hint");
    for (const gap of state.darkNow) {
      const key = tripKey(gap);
      const [x, y] = project(gap.from_lon, gap.from_lat);
      const g = el("g", { class: "dark-now-vessel", "data-dark-now": key }, layer);
      titled(g, `${gap.name || gap.mmsi}: dark since ${shortTime(gap.dark_from)} UTC near ${gap.port || "?"}`);
      scaled(el("circle", { class: "dark-ring", cx: x, cy: y }, g), "r", 11);
      scaled(el("circle", { class: "dark-marker", cx: x, cy: y }, g), "r", 6);
      g.addEventListener("click", () => select(key, true));
      const item = html("li", null, list);
      const button = html("button", `${gap.name || gap.mmsi} near ${gap.port || "?"}, dark ${fixed(gap.duration_hours, 1)} h`, item);
      button.type = "button";
      button.addEventListener("click", () => select(key, true));
    }
  }

  // ---- the selected trip ------------------------------------------------------------------

  function addRow(dl, term, value) {
    if (value === null || value === undefined || value === "") return;
    html("dt", term, dl);
    html("dd", String(value), dl);
  }

  // A printable report (a trip's with its raw lines and provenance, an encounter's). A
  // configured token must travel in the header, so then the page is fetched and opened from
  // memory.
  function reportLink(panel, href, text, id) {
    const link = html("a", text, html("p", null, panel), "report-link");
    link.id = id;
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener";
    link.addEventListener("click", async (event) => {
      if (!state.token) return;
      event.preventDefault();
      try {
        const page = await (await request(link.getAttribute("href"))).text();
        window.open(URL.createObjectURL(new Blob([page], { type: "text/html" })), "_blank");
      } catch (error) {
        setStatus(error.message);
      }
    });
  }

  function showEvidence(gap, vessel) {
    const panel = $("evidence");
    panel.replaceChildren();
    html("h2", `${gap.name || "unnamed"} (MMSI ${gap.mmsi})`, panel);
    reportLink(panel, `/api/v1/report/trip/${gap.mmsi}/${encodeURIComponent(gap.dark_from)}`,
      "Trip report (printable, with provenance)", "trip-report-link");
    const dl = html("dl", null, panel);
    addRow(dl, "Judgement", `${gap.status}${gap.confidence ? `, ${gap.confidence} confidence` : ""}`);
    addRow(dl, "Port", gap.port);
    addRow(dl, "IMO", gap.imo);
    addRow(dl, "Call sign", gap.callsign);
    addRow(dl, "Ship type", gap.ship_type);
    addRow(dl, "Dark from", `${shortTime(gap.dark_from)} UTC at ${fixed(gap.from_lat, 4)}, ${fixed(gap.from_lon, 4)}`);
    addRow(dl, "Dark until", gap.dark_until ? `${shortTime(gap.dark_until)} UTC at ${fixed(gap.until_lat, 4)}, ${fixed(gap.until_lon, 4)}` : "still dark");
    addRow(dl, "Duration", `${fixed(gap.duration_hours, 1)} h`);
    if (gap.distance_nm !== null) addRow(dl, "Distance A to B", `${fixed(gap.distance_nm, 1)} nm (${fixed(gap.implied_speed_kn, 1)} kn implied)`);
    if (gap.detour_nm !== null) addRow(dl, "Via the port", `${fixed(gap.detour_nm, 1)} nm, ${fixed(gap.slack_hours, 1)} h to spare`);
    if (gap.coverage !== null) addRow(dl, "Port coverage", `${Math.round(gap.coverage * 100)}% of the dark hours`);
    if (gap.draught_before !== null) {
      const change = gap.draught_change === null ? "" : ` (${gap.draught_change >= 0 ? "+" : ""}${fixed(gap.draught_change, 1)} m)`;
      addRow(dl, "Draught", `${fixed(gap.draught_before, 1)} m to ${gap.draught_after === null ? "?" : `${fixed(gap.draught_after, 1)} m`}${change}`);
    }
    if (gap.est_barrels !== null) addRow(dl, "Estimated cargo", `${whole(gap.est_tonnes)} t, ${whole(gap.est_barrels)} barrels`);
    for (const change of gap.identity_changes || []) {
      addRow(dl, `Changed ${change.field}`, `${change.before} to ${change.after}`);
    }
    if (gap.last_open_call) {
      const call = gap.last_open_call;
      addRow(dl, "Last open call", `${call.port}, ${shortTime(call.arrived)} to ${shortTime(call.left_at)} UTC`);
    }
    if (vessel) {
      addRow(dl, "Track around", `${vessel.track.length} fixes within ${TRACK_CONTEXT_HOURS} h`);
      addRow(dl, "Identity reports", vessel.identity_history.length);
      if (vessel.visitsAround) showVisits(vessel.visitsAround, panel);
    }
    if ((gap.candidates || []).length) {
      const table = html("table", null, panel);
      const head = html("tr", null, html("thead", null, table));
      for (const title of ["Candidate port", "Detour nm", "Slack h", "Coverage", "Feasible"]) html("th", title, head);
      const body = html("tbody", null, table);
      for (const c of gap.candidates) {
        const row = html("tr", null, body);
        html("td", c.port, row);
        html("td", fixed(c.detour_nm, 1), row);
        html("td", fixed(c.slack_hours, 1), row);
        html("td", `${Math.round(c.coverage * 100)}%`, row);
        html("td", c.feasible ? "yes" : c.reachable ? "not covered" : "no", row);
      }
    }
  }

  function drawSelection(gap, track) {
    const layer = $("layer-selection");
    layer.replaceChildren();
    if (track && track.length > 1) {
      const before = track.filter((p) => p.time <= gap.dark_from);
      const after = gap.dark_until ? track.filter((p) => p.time >= gap.dark_until) : [];
      for (const part of [before, after]) {
        if (part.length < 2) continue;
        const d = part.map((p, i) => {
          const [x, y] = project(p.lon, p.lat);
          return `${i ? "L" : "M"}${x.toFixed(5)} ${y.toFixed(5)}`;
        }).join("");
        el("path", { class: "selection-track", d }, layer);
      }
      for (const p of track) {
        const [x, y] = project(p.lon, p.lat);
        scaled(el("circle", { class: "selection-point", cx: x, cy: y }, layer), "r", 1.6);
      }
    }
    const port = state.ports.find((p) => p.name === gap.port);
    if (port) {
      const [x, y] = project(port.lon, port.lat);
      scaled(el("circle", { class: "selection-port", cx: x, cy: y }, layer), "r", 14);
    }
  }

  async function select(key, updateHash) {
    const gap = state.byKey.get(key);
    if (!gap) {
      setStatus(`No trip ${key} in this database.`);
      return;
    }
    state.selectedKey = key;
    setStatus("");
    document.querySelectorAll(".selected").forEach((node) => node.classList.remove("selected"));
    if (gap.node) {
      gap.node.classList.add("selected");
      gap.node.parentNode.appendChild(gap.node);
    }
    const row = document.querySelector(`tr[data-trip="${CSS.escape(key)}"]`);
    if (row) row.classList.add("selected");
    if (updateHash && location.hash !== `#trip=${key}`) history.replaceState(null, "", `#trip=${key}`);
    const port = state.ports.find((p) => p.name === gap.port);
    const points = [[gap.from_lon, gap.from_lat], [gap.until_lon, gap.until_lat]];
    if (port) points.push([port.lon, port.lat]);
    fitBounds(boundsOf(points), 0.35);
    showEvidence(gap, null);
    drawSelection(gap, null);
    document.body.dataset.selected = key;
    const from = new Date(Date.parse(gap.dark_from) - TRACK_CONTEXT_HOURS * 3600e3).toISOString();
    const until = new Date(Date.parse(gap.dark_until || gap.dark_from) + TRACK_CONTEXT_HOURS * 3600e3).toISOString();
    try {
      const around = (time, days) => encodeURIComponent(new Date(Date.parse(time) + days * 86400e3).toISOString().replace(".000", ""));
      const [vessel, visits] = await Promise.all([
        getJson(`/api/v1/vessels/${gap.mmsi}?since=${encodeURIComponent(from.replace(".000", ""))}&until=${encodeURIComponent(until.replace(".000", ""))}`),
        getJson(`/api/v1/visits?mmsi=${gap.mmsi}&since=${around(gap.dark_from, -VISIT_CONTEXT_DAYS)}&until=${around(gap.dark_until || gap.dark_from, VISIT_CONTEXT_DAYS)}&limit=10000`),
      ]);
      vessel.visitsAround = visits;
      if (state.selectedKey !== key) return;
      showEvidence(gap, vessel);
      drawSelection(gap, vessel.track);
      document.body.dataset.selectedTrack = String(vessel.track.length);
    } catch (error) {
      setStatus(error.message);
    }
  }

  function selectFromHash() {
    const match = /^#trip=(.+)$/.exec(decodeURIComponent(location.hash));
    if (match && match[1] !== state.selectedKey) select(match[1], false);
  }

  // ---- the tally chart --------------------------------------------------------------------

  function drawChart() {
    const svg = $("chart");
    svg.replaceChildren();
    const months = [...new Set(state.tally.map((r) => r.month))].sort();
    const ports = [...new Set(state.tally.map((r) => r.port))].sort();
    const total = state.tally.reduce((sum, r) => sum + r.trips, 0);
    $("chart-total").textContent = `${total} trip${total === 1 ? "" : "s"}`;
    const width = Math.max(svg.clientWidth || 800, 320);
    const height = 230;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const margin = { left: 38, right: 10, top: 10, bottom: 34 };
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    const openTotal = state.tally.reduce((sum, r) => sum + (r.open_calls || 0), 0);
    $("chart-total").textContent += `, ${openTotal} open call${openTotal === 1 ? "" : "s"}`;
    // Dark and open calls share one scale, so that their bars compare.
    const perMonth = months.flatMap((m) => {
      const rows = state.tally.filter((r) => r.month === m);
      return [rows.reduce((s, r) => s + r.trips, 0), rows.reduce((s, r) => s + (r.open_calls || 0), 0)];
    });
    const step = Math.max(1, Math.ceil(Math.max(1, ...perMonth) / 5));
    const top = step * Math.ceil(Math.max(1, ...perMonth) / step);
    const axis = el("g", { class: "axis" }, svg);
    for (let v = 0; v <= top; v += step) {
      const y = margin.top + plotHeight - (v / top) * plotHeight;
      el("line", { x1: margin.left, x2: width - margin.right, y1: y, y2: y }, axis);
      el("text", { x: margin.left - 6, y: y + 4, "text-anchor": "end" }, axis).textContent = v;
    }
    if (!months.length) {
      el("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, axis).textContent = "No trips";
    }
    const slot = plotWidth / Math.max(months.length, 1);
    const barWidth = Math.min(40, slot * 0.38);
    months.forEach((month, i) => {
      const x = margin.left + i * slot + slot / 2 - barWidth;
      let base = margin.top + plotHeight;
      for (const port of ports) {
        const row = state.tally.find((r) => r.month === month && r.port === port);
        if (!row) continue;
        const h = (row.trips / top) * plotHeight;
        base -= h;
        const bar = el("rect", {
          class: "bar", x, y: base, width: barWidth, height: h, fill: state.portColour.get(port) || "#888",
          "data-port": port, "data-month": month, "data-trips": row.trips,
        }, svg);
        titled(bar, `${port}, ${month}: ${row.trips} trips (${row.high_confidence} high confidence), about ${whole(row.est_barrels)} barrels`);
        bar.addEventListener("click", () => filterToMonth(port, month));
      }
      let openBase = margin.top + plotHeight;
      for (const port of ports) {
        const row = state.tally.find((r) => r.month === month && r.port === port);
        if (!row || !row.open_calls) continue;
        const h = (row.open_calls / top) * plotHeight;
        openBase -= h;
        const bar = el("rect", {
          class: "bar-open", x: x + barWidth + 2, y: openBase, width: barWidth, height: h, fill: state.portColour.get(port) || "#888",
          "data-port": port, "data-month": month, "data-open-calls": row.open_calls,
        }, svg);
        titled(bar, `${port}, ${month}: ${row.open_calls} open calls (port visits heard with AIS on)`);
      }
      el("text", { x: x + barWidth, y: height - margin.bottom + 16, "text-anchor": "middle" }, axis).textContent = month;
    });
    const legend = $("chart-legend");
    legend.replaceChildren();
    for (const port of ports) {
      const item = html("li", null, legend);
      const swatch = html("span", null, item, "swatch");
      swatch.style.background = state.portColour.get(port) || "#888";
      item.appendChild(document.createTextNode(port));
    }
    html("li", "left bar of each month: dark calls (trips); right, pale: open calls", legend, "hint");
  }

  function filterToMonth(port, month) {
    const [year, m] = month.split("-").map(Number);
    const last = new Date(Date.UTC(year, m, 0)).getUTCDate();
    $("f-port").value = port;
    $("f-from").value = `${month}-01`;
    $("f-until").value = `${month}-${String(last).padStart(2, "0")}`;
    renderTable();
  }

  // ---- port visits, encounters and loitering ---------------------------------------------

  function showVisits(visits, panel) {
    html("h3", `Port visits with AIS on, ${VISIT_CONTEXT_DAYS} days either side (${visits.length})`, panel);
    if (!visits.length) {
      html("p", "None heard.", panel, "hint");
      return;
    }
    const table = html("table", null, panel);
    table.className = "visits";
    const head = html("tr", null, html("thead", null, table));
    for (const title of ["Port", "Arrived (UTC)", "Left", "Hours", "Call"]) html("th", title, head);
    const body = html("tbody", null, table);
    for (const v of visits) {
      const row = html("tr", null, body);
      row.dataset.visit = `${v.mmsi}@${v.arrived}`;
      html("td", v.port, row);
      html("td", shortTime(v.arrived), row);
      html("td", v.left ? shortTime(v.left) : "still there", row);
      html("td", fixed(v.duration_hours, 1), row);
      html("td", v.open_call ? "open" : "dark", row);
    }
  }

  const encounterKey = (e) => `${e.a.mmsi}-${e.b.mmsi}@${e.start}`;
  const loiteringKey = (l) => `${l.vessel.mmsi}@${l.start}`;
  const rendezvousKey = (r) => `${r.dark.mmsi}@${r.dark.from}~${r.partner.mmsi}@${r.partner.from}`;
  const vesselName = (v) => `${v.name || "unnamed"} (MMSI ${v.mmsi}${v.flag ? `, ${v.flag}` : ""})`;
  const AT_SEA_KINDS = ["encounter", "loitering", "rendezvous"];

  // Each at-sea record's vessels and the time it is filtered by: its start, as the trips are
  // filtered by the start of their silence and the API by `since`.
  const atSeaOf = {
    encounter: { records: () => state.encounters, key: encounterKey, vessels: (e) => [e.a, e.b], start: (e) => e.start },
    loitering: { records: () => state.loitering, key: loiteringKey, vessels: (l) => [l.vessel], start: (l) => l.start },
    rendezvous: { records: () => state.rendezvous, key: rendezvousKey, vessels: (r) => [r.dark, r.partner], start: (r) => r.dark.from },
  };

  function atSeaButton(kind, key, text, list) {
    const item = html("li", null, list);
    item.dataset.kind = kind;
    const button = html("button", text, item);
    button.type = "button";
    button.dataset[kind] = key;
    button.addEventListener("click", () => selectAtSea(kind, key));
    return item;
  }

  // One vessel's side of a dark rendezvous: fix A, the dashed silence to fix B (as for trips),
  // or for a partner heard idling, the ring it idled in.
  function drawRendezvousLeg(leg, role, parent) {
    const g = el("g", { class: `rendezvous-leg ${role}`, "data-mmsi": leg.mmsi, "data-kind": leg.kind }, parent);
    if (leg.idle_area) el("path", { class: "idle-ring", d: ringPath(circle(leg.idle_area.lat, leg.idle_area.lon, leg.idle_area.radius_nm)) }, g);
    const [ax, ay] = project(leg.from_lon, leg.from_lat);
    if (leg.until_lat !== null && leg.until_lon !== null) {
      const [bx, by] = project(leg.until_lon, leg.until_lat);
      el("line", { class: "leg", x1: ax, y1: ay, x2: bx, y2: by }, g);
      scaled(el("circle", { class: "fix-b", cx: bx, cy: by }, g), "r", 4);
    }
    scaled(el("circle", { class: "fix-a", cx: ax, cy: ay }, g), "r", 4);
  }

  function drawAtSea() {
    const layer = $("layer-at-sea");
    layer.replaceChildren();
    const list = $("at-sea-list");
    list.replaceChildren();
    // A vessel often idles while it meets another: the meeting is drawn over the idling, and
    // both over the wide areas where a dark rendezvous could have happened.
    const rendezvousLayer = el("g", {}, layer);
    const idleLayer = el("g", {}, layer);
    const meetingLayer = el("g", {}, layer);
    for (const e of state.encounters) {
      const key = encounterKey(e);
      const g = el("g", { class: "encounter", "data-encounter": key }, meetingLayer);
      titled(g, `Encounter: ${e.a.name || e.a.mmsi} and ${e.b.name || e.b.mmsi}, ${fixed(e.duration_hours, 1)} h from ${shortTime(e.start)} UTC`);
      const [x1, y1] = project(e.start_lon, e.start_lat);
      const [x2, y2] = project(e.end_lon, e.end_lat);
      el("line", { class: "meeting", x1, y1, x2, y2 }, g);
      const [x, y] = project(e.lon, e.lat);
      scaled(el("circle", { class: "meeting-point", cx: x, cy: y }, g), "r", 6);
      g.addEventListener("click", () => selectAtSea("encounter", key));
      e.nodes = [g, atSeaButton("encounter", key, `Encounter: ${e.a.name || e.a.mmsi} / ${e.b.name || e.b.mmsi}, ${fixed(e.duration_hours, 1)} h`, list)];
    }
    for (const l of state.loitering) {
      const key = loiteringKey(l);
      const g = el("g", { class: "loitering", "data-loitering": key }, idleLayer);
      titled(g, `Loitering: ${l.vessel.name || l.vessel.mmsi}, ${fixed(l.duration_hours, 1)} h from ${shortTime(l.start)} UTC`);
      const radius = Math.max(0.5, (l.distance_nm || 0) / 2);
      el("path", { class: "idle-ring", d: ringPath(circle(l.lat, l.lon, radius)) }, g);
      const [x1, y1] = project(l.start_lon, l.start_lat);
      const [x2, y2] = project(l.end_lon, l.end_lat);
      el("path", { class: "idle-path", d: `M${x1} ${y1}L${x2} ${y2}` }, g);
      g.addEventListener("click", () => selectAtSea("loitering", key));
      l.nodes = [g, atSeaButton("loitering", key, `Loitering: ${l.vessel.name || l.vessel.mmsi}, ${fixed(l.duration_hours, 1)} h`, list)];
    }
    for (const r of state.rendezvous) {
      const key = rendezvousKey(r);
      const g = el("g", { class: `rendezvous ${r.status}`, "data-rendezvous": key }, rendezvousLayer);
      titled(g, `Dark rendezvous (${r.status}): ${r.dark.name || r.dark.mmsi} and ${r.partner.name || r.partner.mmsi}, possible ${shortTime(r.earliest)} to ${shortTime(r.latest)} UTC, ${fixed(r.slack_hours, 1)} h slack`);
      if ((r.area || []).length > 2) el("path", { class: "meeting-area", d: ringPath(r.area) }, g);
      drawRendezvousLeg(r.dark, "dark-leg", g);
      drawRendezvousLeg(r.partner, "partner-leg", g);
      const [x, y] = project(r.lon, r.lat);
      scaled(el("circle", { class: "meeting-place", cx: x, cy: y }, g), "r", 6);
      g.addEventListener("click", () => selectAtSea("rendezvous", key));
      r.nodes = [g, atSeaButton("rendezvous", key, `Dark rendezvous: ${r.dark.name || r.dark.mmsi} / ${r.partner.name || r.partner.mmsi}, ${fixed(r.slack_hours, 1)} h slack`, list)];
    }
    html("li", "No encounter, loitering or dark rendezvous of a watched vessel.", list, "hint none");
    filterAtSea();
  }

  // The layer toggles and the table's vessel and date filters narrow the at-sea layers, map
  // and list together; port and confidence belong to trips alone.
  function filterAtSea() {
    const f = filters();
    const shown = {};
    for (const kind of AT_SEA_KINDS) {
      const of = atSeaOf[kind];
      const on = $(`show-${kind}`).checked;
      shown[kind] = 0;
      for (const record of of.records()) {
        const start = of.start(record);
        const visible = on
          && (!f.from || start >= `${f.from}T00:00:00Z`)
          && (!f.until || start <= `${f.until}T23:59:59Z`)
          && (!f.vessel || of.vessels(record).some((v) => `${v.name || ""} ${v.mmsi} ${v.imo || ""}`.toLowerCase().includes(f.vessel)));
        shown[kind] += visible ? 1 : 0;
        for (const node of record.nodes || []) node.classList.toggle("hidden", !visible);
      }
    }
    const count = (kind, noun) => {
      const all = atSeaOf[kind].records().length;
      return `${shown[kind] === all ? all : `${shown[kind]} of ${all}`} ${noun}`;
    };
    $("at-sea-count").textContent = `${count("encounter", "encounters")}, ${count("loitering", "loitering")}, ${count("rendezvous", "dark rendezvous")}`;
    const none = document.querySelector("#at-sea-list li.none");
    if (none) none.hidden = AT_SEA_KINDS.some((kind) => shown[kind]);
  }

  function sideRows(dl, label, v) {
    addRow(dl, label, vesselName(v));
    addRow(dl, `${label}: ship`, [v.imo ? `IMO ${v.imo}` : "", v.ship_type ? `type ${v.ship_type}` : "", v.length ? `${v.length} x ${v.beam || "?"} m` : ""].filter(Boolean).join(", "));
    if (v.draught_before !== undefined && v.draught_before !== null) {
      const change = v.draught_change === null || v.draught_change === undefined ? "" : ` (${v.draught_change >= 0 ? "+" : ""}${fixed(v.draught_change, 1)} m)`;
      addRow(dl, `${label}: draught`, `${fixed(v.draught_before, 1)} m to ${v.draught_after === null ? "?" : `${fixed(v.draught_after, 1)} m`}${change}`);
    }
  }

  function showEncounter(e) {
    const panel = $("evidence");
    panel.replaceChildren();
    html("h2", `Encounter: ${e.a.name || e.a.mmsi} and ${e.b.name || e.b.mmsi}`, panel);
    // Both vessels named: two encounters of one vessel may start at the same time.
    reportLink(panel, `/api/v1/report/encounter/${e.a.mmsi}/${encodeURIComponent(e.start)}/${e.b.mmsi}`,
      "Encounter report (printable)", "encounter-report-link");
    const dl = html("dl", null, panel);
    addRow(dl, "Status", e.status);
    sideRows(dl, "Vessel A", e.a);
    sideRows(dl, "Vessel B", e.b);
    addRow(dl, "From", `${shortTime(e.start)} UTC`);
    addRow(dl, "Until", `${shortTime(e.end)} UTC (${fixed(e.duration_hours, 1)} h)`);
    addRow(dl, "Distance", `min ${Math.round(e.min_distance_m)} m, median ${Math.round(e.median_distance_m)} m (${e.samples} common times)`);
    addRow(dl, "Median speed", `${fixed(e.median_speed_kn, 1)} kn`);
    addRow(dl, "Where", `${fixed(e.lat, 4)}, ${fixed(e.lon, 4)}`);
    if (e.nearest_port) addRow(dl, "Nearest port", `${e.nearest_port}, ${fixed(e.port_distance_nm, 1)} nm`);
    if (e.receiving) addRow(dl, "Receiving", e.receiving === e.a.mmsi ? vesselName(e.a) : vesselName(e.b));
    if (e.est_barrels !== null && e.est_barrels !== undefined) addRow(dl, "Estimated transfer", `${whole(e.est_tonnes)} t, ${whole(e.est_barrels)} barrels`);
  }

  function showLoitering(l) {
    const panel = $("evidence");
    panel.replaceChildren();
    html("h2", `Loitering: ${l.vessel.name || l.vessel.mmsi}`, panel);
    const dl = html("dl", null, panel);
    addRow(dl, "Status", l.status);
    sideRows(dl, "Vessel", l.vessel);
    addRow(dl, "From", `${shortTime(l.start)} UTC`);
    addRow(dl, "Until", `${shortTime(l.end)} UTC (${fixed(l.duration_hours, 1)} h)`);
    addRow(dl, "Speed", `mean ${fixed(l.mean_speed_kn, 2)} kn, max ${fixed(l.max_speed_kn, 1)} kn over ${l.fixes} fixes`);
    addRow(dl, "Moved", `${fixed(l.distance_nm, 1)} nm`);
    addRow(dl, "Where", `${fixed(l.lat, 4)}, ${fixed(l.lon, 4)}`);
    if (l.nearest_port) addRow(dl, "Nearest port", `${l.nearest_port}, ${fixed(l.port_distance_nm, 1)} nm`);
    if (l.draught !== null && l.draught !== undefined) addRow(dl, "Draught", `${fixed(l.draught, 1)} m`);
  }

  function legRow(dl, label, leg) {
    const hours = `${fixed(leg.hours, 1)} h`;
    if (leg.kind === "loitering") {
      const area = leg.idle_area ? ` around ${fixed(leg.idle_area.lat, 4)}, ${fixed(leg.idle_area.lon, 4)} within ${fixed(leg.idle_area.radius_nm, 1)} nm` : "";
      addRow(dl, `${label}: loitering`, `${shortTime(leg.from)} to ${shortTime(leg.until)} UTC (${hours}), heard idling${area}`);
      return;
    }
    const b = leg.until_lat === null ? "not heard since" : `fix B ${fixed(leg.until_lat, 4)}, ${fixed(leg.until_lon, 4)}`;
    addRow(dl, `${label}: dark`, `${shortTime(leg.from)} to ${shortTime(leg.until)} UTC (${hours}${leg.kind === "open_gap" ? ", still dark" : ""}), fix A ${fixed(leg.from_lat, 4)}, ${fixed(leg.from_lon, 4)}, ${b}`);
  }

  function showRendezvous(r) {
    const panel = $("evidence");
    panel.replaceChildren();
    html("h2", `Dark rendezvous: ${r.dark.name || r.dark.mmsi} and ${r.partner.name || r.partner.mmsi}`, panel);
    const dl = html("dl", null, panel);
    addRow(dl, "Status", `${r.status}: could have met, never proven`);
    sideRows(dl, "Dark vessel", r.dark);
    legRow(dl, "Dark vessel", r.dark);
    sideRows(dl, "Partner", r.partner);
    legRow(dl, "Partner", r.partner);
    addRow(dl, "Feasibility window", `${shortTime(r.earliest)} to ${shortTime(r.latest)} UTC`);
    addRow(dl, "Together", `up to ${fixed(r.together_hours, 1)} h at the meeting place`);
    addRow(dl, "Slack", `${fixed(r.slack_hours, 1)} h beyond the ${fixed(r.min_hours, 1)} h minimum, at ${fixed(r.max_speed_kn, 1)} kn at most while dark`);
    addRow(dl, "Meeting place", `${fixed(r.lat, 4)}, ${fixed(r.lon, 4)}; could have met anywhere within ${fixed(r.area_radius_nm, 1)} nm`);
    if (r.nearest_port) addRow(dl, "Nearest port", `${r.nearest_port}, ${fixed(r.port_distance_nm, 1)} nm`);
  }

  function atSeaPoints(kind, record) {
    if (kind !== "rendezvous") {
      return [[record.start_lon, record.start_lat], [record.end_lon, record.end_lat], ...circle(record.lat, record.lon, 5)];
    }
    const legs = [record.dark, record.partner];
    return [...(record.area || []), ...legs.flatMap((leg) => [[leg.from_lon, leg.from_lat], [leg.until_lon, leg.until_lat]])];
  }

  function selectAtSea(kind, key) {
    const of = atSeaOf[kind];
    const record = of.records().find((r) => of.key(r) === key);
    if (!record) return;
    state.selectedKey = null;
    document.querySelectorAll(".selected").forEach((node) => node.classList.remove("selected"));
    $("layer-selection").replaceChildren();
    const node = document.querySelector(`#layer-at-sea g[data-${kind}="${CSS.escape(key)}"]`);
    if (node) node.classList.add("selected");
    if (kind === "encounter") showEncounter(record);
    else if (kind === "loitering") showLoitering(record);
    else showRendezvous(record);
    fitBounds(boundsOf(atSeaPoints(kind, record)), 0.35);
    document.body.dataset.selected = `${kind}:${key}`;
  }

  // ---- estimated barrels against the annual cap -------------------------------------------

  function drawCap() {
    const report = state.report;
    const svg = $("cap-chart");
    svg.replaceChildren();
    const body = document.querySelector("#confidence-split tbody");
    body.replaceChildren();
    if (!report) return;
    const total = report.totals.est_barrels;
    $("cap-total").textContent = `${whole(total)} bbl estimated, ${whole(report.cap_over_period_bbl)} bbl cap over the period`;
    for (const c of report.confidence) {
      const row = html("tr", null, body);
      row.dataset.confidence = c.confidence;
      row.dataset.trips = c.trips;
      html("td", c.confidence, row);
      html("td", String(c.trips), row, "num");
      html("td", String(c.with_estimate), row, "num");
      html("td", whole(c.est_barrels), row, "num");
    }
    if (!report.period_from || !report.period_until) return;
    const from = Date.parse(report.period_from);
    const until = Math.max(Date.parse(report.period_until), from + 3600e3);
    const width = Math.max(svg.clientWidth || 800, 320);
    const height = 230;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const margin = { left: 70, right: 10, top: 12, bottom: 24 };
    const peak = Math.max(total, report.annual_cap_bbl, report.cap_over_period_bbl, 1) * 1.08;
    const power = 10 ** Math.floor(Math.log10(peak / 5));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => peak / s <= 5) || power * 10;
    const top = step * Math.ceil(peak / step);
    const xOf = (t) => margin.left + Math.min(1, Math.max(0, (t - from) / (until - from))) * (width - margin.left - margin.right);
    const yOf = (v) => margin.top + (1 - v / top) * (height - margin.top - margin.bottom);
    const axis = el("g", { class: "axis" }, svg);
    for (let v = 0; v <= top + 1e-6; v += step) {
      el("line", { x1: margin.left, x2: width - margin.right, y1: yOf(v), y2: yOf(v) }, axis);
      el("text", { x: margin.left - 6, y: yOf(v) + 4, "text-anchor": "end" }, axis).textContent = whole(v);
    }
    const every = Math.max(1, Math.ceil(report.months.length / 12));
    report.months.forEach((m, i) => {
      if (i % every) return;
      const start = Math.max(Date.parse(`${m.month}-01T00:00:00Z`), from);
      el("text", { x: xOf(start), y: height - 6, "text-anchor": i ? "middle" : "start" }, axis).textContent = m.month;
    });
    titled(el("line", { class: "cap-line", x1: margin.left, x2: width - margin.right, y1: yOf(report.annual_cap_bbl), y2: yOf(report.annual_cap_bbl), "data-cap": report.annual_cap_bbl }, svg), report.cap_label);
    el("text", { x: margin.left + 4, y: yOf(report.annual_cap_bbl) - 4 }, axis).textContent = report.cap_label;
    el("line", { class: "pro-rata-line", x1: xOf(from), y1: yOf(0), x2: xOf(until), y2: yOf(report.cap_over_period_bbl) }, svg);
    let d = `M${xOf(from)} ${yOf(0)}`;
    for (const t of report.trips) d += `H${xOf(Date.parse(t.dark_from))}V${yOf(t.cumulative_est_barrels)}`;
    d += `H${xOf(until)}`;
    titled(el("path", { class: "cumulative-line", d, "data-total": Math.round(total) }, svg), `${whole(total)} estimated barrels over the period`);
    $("cap-note").textContent = `Red: cumulative estimate (${report.totals.with_estimate} of ${report.totals.trips} trips have one). Dashed: ${report.cap_label}. Dotted: that cap pro rata from ${shortTime(report.period_from).slice(0, 10)}.`;
  }

  async function exportTally() {
    try {
      const blob = await (await request("/api/v1/tally/report?format=csv")).blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "aisgap-tally.csv";
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      setStatus(error.message);
    }
  }

  // ---- the trips table --------------------------------------------------------------------

  function filters() {
    return {
      port: $("f-port").value,
      vessel: $("f-vessel").value.trim().toLowerCase(),
      from: $("f-from").value,
      until: $("f-until").value,
      confidence: $("f-confidence").value,
    };
  }

  function passes(trip, f) {
    if (f.port && trip.port !== f.port) return false;
    if (f.confidence && trip.confidence !== f.confidence) return false;
    if (f.from && trip.dark_from < `${f.from}T00:00:00Z`) return false;
    if (f.until && trip.dark_from > `${f.until}T23:59:59Z`) return false;
    if (f.vessel) {
      const haystack = `${trip.name || ""} ${trip.mmsi} ${trip.imo || ""}`.toLowerCase();
      if (!haystack.includes(f.vessel)) return false;
    }
    return true;
  }

  function compare(a, b) {
    const { key, dir } = state.sort;
    const x = a[key];
    const y = b[key];
    if (x === y) return a.dark_from < b.dark_from ? -1 : 1;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  }

  function renderTable() {
    const f = filters();
    const body = document.querySelector("#trips tbody");
    body.replaceChildren();
    const shown = state.trips.filter((t) => passes(t, f)).sort(compare);
    const visible = new Set(shown.map(tripKey));
    for (const trip of state.trips) {
      const hidden = !visible.has(tripKey(trip));
      if (trip.node) trip.node.classList.toggle("hidden", hidden);
      if (trip.trackNode) trip.trackNode.classList.toggle("hidden", hidden);
    }
    for (const trip of shown) {
      const key = tripKey(trip);
      const row = html("tr", null, body);
      row.dataset.trip = key;
      row.tabIndex = 0;
      if (key === state.selectedKey) row.classList.add("selected");
      const vessel = html("td", trip.name || "unnamed", row);
      html("div", String(trip.mmsi), vessel, "mmsi");
      html("td", trip.port, row);
      html("td", shortTime(trip.dark_from), row);
      html("td", shortTime(trip.dark_until), row);
      html("td", fixed(trip.duration_hours, 1), row, "num");
      const draught = trip.draught_before === null ? "" : `${fixed(trip.draught_before, 1)} to ${trip.draught_after === null ? "?" : fixed(trip.draught_after, 1)}${trip.draught_change ? ` (${trip.draught_change > 0 ? "+" : ""}${fixed(trip.draught_change, 1)})` : ""}`;
      html("td", draught, row, "num");
      html("td", whole(trip.est_barrels), row, "num");
      const confidence = html("td", null, row);
      if (trip.confidence) html("span", trip.confidence, confidence, `badge ${trip.confidence}`);
      row.addEventListener("click", () => select(key, true));
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select(key, true);
        }
      });
    }
    $("trip-count").textContent = `${shown.length} of ${state.trips.length}`;
    state.shown = shown;
    filterAtSea();
    if (document.body.dataset.ready) {
      clearTimeout(state.trackTimer);
      state.trackTimer = setTimeout(loadTracks, 250);
    }
  }

  // The server-side filter closest to the table's; the table's own filter then picks.
  function tripQuery(f, format) {
    const query = new URLSearchParams({ format, limit: "10000" });
    if (f.port) query.set("port", f.port);
    if (f.confidence) query.set("confidence", f.confidence);
    if (f.from) query.set("since", f.from);
    if (f.until) query.set("until", new Date(Date.parse(`${f.until}T00:00:00Z`) + 86400e3).toISOString().slice(0, 10));
    if (/^\d{9}$/.test(f.vessel)) query.set("mmsi", f.vessel);
    return query;
  }

  async function loadTracks() {
    const shown = state.shown || [];
    const note = $("track-note");
    if (shown.length > TRACKS_UP_TO) {
      $("layer-tracks").replaceChildren();
      state.tracksQuery = null;
      note.textContent = `Tracks are drawn for ${TRACKS_UP_TO} trips or fewer: filter the table to see them.`;
      return;
    }
    note.textContent = "";
    const query = `/api/v1/trips?${tripQuery(filters(), "geojson")}`;
    if (query === state.tracksQuery) return;
    state.tracksQuery = query;
    try {
      const collection = await getJson(query);
      if (state.tracksQuery !== query) return;
      const wanted = new Set(shown.map(tripKey));
      collection.features = (collection.features || []).filter((f) => wanted.has(tripKey(f.properties || {})));
      drawTracks(collection);
    } catch (error) {
      setStatus(error.message);
    }
  }

  function installTable() {
    const form = $("filters");
    form.addEventListener("input", renderTable);
    form.addEventListener("change", renderTable);
    form.addEventListener("reset", () => setTimeout(renderTable, 0));
    form.addEventListener("submit", (event) => event.preventDefault());
    for (const button of document.querySelectorAll("#trips th button")) {
      button.addEventListener("click", () => {
        const key = button.dataset.sort;
        state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
        for (const th of document.querySelectorAll("#trips th")) th.setAttribute("aria-sort", "none");
        button.parentNode.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
        renderTable();
      });
    }
    $("export-csv").addEventListener("click", () => exportTrips("csv"));
    $("export-geojson").addEventListener("click", () => exportTrips("geojson"));
    $("export-tally-csv").addEventListener("click", exportTally);
    for (const kind of AT_SEA_KINDS) $(`show-${kind}`).addEventListener("change", filterAtSea);
  }

  // Exports go through fetch so that a configured token travels in the header, never the URL.
  async function exportTrips(format) {
    const query = tripQuery(filters(), format);
    try {
      const blob = await (await request(`/api/v1/trips?${query}`)).blob();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `aisgap-trips.${format === "csv" ? "csv" : "geojson"}`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      setStatus(error.message);
    }
  }

  // ---- start ------------------------------------------------------------------------------

  function installToken() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem("aisgap-token", $("token-input").value.trim());
      location.reload();
    });
  }

  async function start() {
    installToken();
    installPanZoom();
    installTable();
    try {
      const [land, ports, trips, tally, darkNow, summary, encounters, loitering, rendezvous, report] = await Promise.all([
        getJson("/assets/land.json"),
        getJson("/api/v1/ports"),
        getJson("/api/v1/trips?limit=10000"),
        getJson("/api/v1/tally?by=port,month&limit=10000"),
        getJson("/api/v1/dark-now?limit=10000"),
        getJson("/api/v1/summary"),
        getJson("/api/v1/encounters?limit=10000"),
        getJson("/api/v1/loitering?limit=10000"),
        getJson("/api/v1/rendezvous?limit=10000"),
        getJson("/api/v1/tally/report"),
      ]);
      state.encounters = encounters;
      state.loitering = loitering;
      state.rendezvous = rendezvous;
      state.report = report;
      state.ports = ports;
      state.trips = trips;
      state.tally = tally;
      state.darkNow = darkNow;
      for (const gap of [...trips, ...darkNow]) state.byKey.set(tripKey(gap), gap);
      const names = [...new Set([...ports.map((p) => p.name), ...tally.map((r) => r.port)])].sort();
      names.forEach((name, i) => state.portColour.set(name, PALETTE[i % PALETTE.length]));
      const lat0 = ports.length ? ports.reduce((s, p) => s + p.lat, 0) / ports.length : 40;
      state.k = Math.cos((lat0 * Math.PI) / 180);

      drawLand(land);
      drawPorts();
      drawTrips();
      drawDarkNow();
      drawAtSea();
      drawChart();
      drawCap();
      for (const name of ports.map((p) => p.name)) {
        const option = html("option", name, $("f-port"));
        option.value = name;
      }
      renderTable();

      const homePoints = [];
      for (const p of ports) homePoints.push(...circle(p.lat, p.lon, p.coverage_nm));
      for (const t of [...trips, ...darkNow]) homePoints.push([t.from_lon, t.from_lat], [t.until_lon, t.until_lat]);
      for (const r of [...encounters, ...loitering, ...rendezvous]) homePoints.push([r.lon, r.lat]);
      state.home = boundsOf(homePoints) || boundsOf([[land.bbox[0], land.bbox[1]], [land.bbox[2], land.bbox[3]]]);
      fitBounds(state.home);
      $("clock").textContent = `Data as of ${shortTime(summary.stream_clock) || "?"} UTC (stream clock), ${ports.length} designated ports, ${trips.length} trips`;

      selectFromHash();
      window.addEventListener("hashchange", selectFromHash);
      window.addEventListener("resize", () => {
        drawChart();
        drawCap();
      });

      await loadTracks();
      document.body.dataset.ready = "true";
    } catch (error) {
      setStatus(error.message);
      document.body.dataset.ready = "error";
    }
  }

  // Where the pointer is, in degrees: analysts read positions off the map.
  map.addEventListener("pointermove", (event) => {
    if (!state.view) return;
    const box = map.getBoundingClientRect();
    const x = state.view.cx + (event.clientX - box.left - box.width / 2) / state.view.s;
    const y = state.view.cy + (event.clientY - box.top - box.height / 2) / state.view.s;
    const [lon, lat] = unproject(x, y);
    $("cursor").textContent = `${lat.toFixed(3)} N ${lon.toFixed(3)} E`;
  });

  start();
})();
