// The Drover dashboard: polls the management API every PollMs (clusters, nodes, their GPUs, functions), keeps the
// functions' history for the charts in the page, and follows the event stream. Built from the DOM, never from
// HTML strings: names and headers come from the fleet.

import { ApiError, eachLimited, forgetToken, getJson, storeToken, takeToken } from "./api.js";
import { drawChart, spanOf } from "./chart.js";
import { followEvents } from "./events.js";
import { FunctionHistory, WindowMs } from "./history.js";
import { gpuCell, heatColour, Measures } from "./heatmap.js";

/** How often the page reads the fleet. */
const PollMs = 1500;

/**
 * At most this many nodes' GPUs, and functions, are read per poll, the least recently read first: on a large fleet
 * the map and the charts are refreshed in turns, and a page stays well inside the API's rate limit (6,000 a minute).
 */
const GpuNodesPerPoll = 24;
const FunctionsPerPoll = 24;

/** Requests in flight at once (the browser keeps six connections to one origin; the event stream holds one). */
const Parallel = 4;

/** The events the list keeps. */
const EventsKept = 100;

const $ = (id) => document.getElementById(id);

const page = {
  token: "",
  generation: 0,
  measure: "utilization",
  clusters: null,
  nodes: [],
  gpus: new Map(), // nodeId -> {gpus, at}
  functions: [],
  functionsRead: new Map(), // name -> {doc, at}
  history: new FunctionHistory(),
  lastSuccess: 0,
  unreachableSince: 0,
  stream: null,
  paused: false,
  pending: [],
  flushTimer: 0,
};

function element(name, { className, text, attributes } = {}, children = []) {
  const e = document.createElement(name);
  if (className) {
    e.className = className;
  }

  if (text !== undefined && text !== null) {
    e.textContent = String(text);
  }

  for (const [key, value] of Object.entries(attributes ?? {})) {
    e.setAttribute(key, String(value));
  }

  e.append(...children);
  return e;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

/** Sets an element's text only when it changes: a live region announces every change, and polls repeat themselves. */
function setText(e, text) {
  if (e.textContent !== text) {
    e.textContent = text;
  }
}

function setConnection(state, text) {
  const connection = $("connection");
  connection.dataset.state = state;
  setText(connection, text);
}

function showProblem(kind, message) {
  const problem = $("problem");
  problem.dataset.kind = kind;
  setText(problem, message);
  problem.hidden = false;
}

function clearProblem() {
  const problem = $("problem");
  problem.hidden = true;
  problem.textContent = "";
  delete problem.dataset.kind;
}

// ---------------------------------------------------------------- start, token, stop

function start() {
  page.token = takeToken();
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    storeToken($("token-input").value);
    $("token-input").value = "";
    page.token = takeToken();
    begin();
  });
  $("forget-token").addEventListener("click", () => {
    forgetToken();
    page.token = "";
    stop();
    askForToken("The token is forgotten. Enter a token to read the fleet again.");
  });
  for (const radio of document.querySelectorAll("#measure input")) {
    radio.addEventListener("change", () => {
      page.measure = radio.value;
      renderNodes();
    });
  }

  $("events-pause").addEventListener("click", () => {
    page.paused = !page.paused;
    $("events-pause").setAttribute("aria-pressed", String(page.paused));
    $("events-pause").textContent = page.paused ? "Resume" : "Pause";
    if (!page.paused) {
      flushEvents();
    }
  });
  // A link with #token=... opened in this tab while the page is open.
  window.addEventListener("hashchange", () => {
    if (new URLSearchParams(location.hash.replace(/^#/, "")).has("token")) {
      page.token = takeToken();
      begin();
    }
  });
  renderLegend();
  begin();
}

/** (Re)starts polling with the current token; an aggregator with insecureApi needs none. */
function begin() {
  stop();
  $("token-form").hidden = true;
  $("forget-token").hidden = page.token === "";
  clearProblem();
  setConnection("connecting", "Connecting to the aggregator…");
  poll(++page.generation);
}

function stop() {
  page.generation++;
  page.stream?.stop();
  page.stream = null;
}

function askForToken(message) {
  showProblem("refused", message);
  $("fleet").classList.add("stale");
  setConnection(page.token ? "refused" : "needs-token", page.token ? "Token refused." : "A token is needed.");
  $("token-form").hidden = false;
  $("forget-token").hidden = page.token === "";
  $("token-input").focus();
}

// ---------------------------------------------------------------- polling

async function poll(generation) {
  while (generation === page.generation) {
    const started = Date.now();
    let waitMs = PollMs;
    try {
      await readFleet(generation);
      if (generation !== page.generation) {
        return;
      }

      page.lastSuccess = Date.now();
      page.unreachableSince = 0;
      clearProblem();
      $("fleet").hidden = false;
      $("fleet").classList.remove("stale");
      setConnection("live", `Live: read every ${PollMs / 1000} s.`);
      setText($("updated"), `Updated ${clock(page.lastSuccess)}`);
      render();
      page.stream ??= openEvents(generation);
    } catch (error) {
      if (generation !== page.generation) {
        return;
      }

      if (!(error instanceof ApiError)) {
        // A bug of the page's own (an answer it cannot show): said, logged, and the page goes on polling.
        console.error("dashboard:", error);
        showProblem("failed", `The page could not show the fleet: ${error.message ?? error}`);
      } else if (error.kind === "refused") {
        stop();
        askForToken(error.message + (page.token ? " Enter another token." : " Enter a token."));
        return;
      } else if (error.kind === "unreachable") {
        page.unreachableSince ||= Date.now();
        $("fleet").classList.add("stale");
        const shown = page.lastSuccess ? ` The page shows the fleet as it was at ${clock(page.lastSuccess)}.` : "";
        showProblem("unreachable", `${error.message} Is drover-aggregator running? Trying again every ${PollMs / 1000} s since ${clock(page.unreachableSince)}.${shown}`);
        setConnection("unreachable", `Unreachable since ${clock(page.unreachableSince)}.`);
      } else if (error.kind === "limited") {
        waitMs = error.retryAfterSeconds * 1000;
        showProblem("limited", `${error.message} The page waits ${error.retryAfterSeconds} s.`);
      } else {
        showProblem("failed", error.message);
      }
    }

    await new Promise((resolve) => setTimeout(resolve, Math.max(250, waitMs - (Date.now() - started))));
  }
}

async function readFleet(generation) {
  const token = page.token;
  const [clusters, nodes, definitions] = await Promise.all([
    getJson("/v1/clusters", token),
    getJson("/v1/nodes", token),
    getJson("/v1/functions", token),
  ]);

  // GPUs: the nodes read least recently first, a bounded number per poll.
  const known = new Set(nodes.map((n) => n.nodeId));
  for (const id of page.gpus.keys()) {
    if (!known.has(id)) {
      page.gpus.delete(id);
    }
  }

  await eachLimited(leastRecent(nodes, (n) => page.gpus.get(n.nodeId), GpuNodesPerPoll), Parallel, async (node) => {
    const gpus = await orMissing(getJson(`/v1/nodes/${encodeURIComponent(node.nodeId)}/gpus`, token));
    if (gpus !== null && generation === page.generation) {
      page.gpus.set(node.nodeId, { gpus, at: Date.now() });
    }
  });

  // Functions: each one read is also a sample of its history.
  const defined = new Set(definitions.map((f) => f.name));
  for (const name of page.functionsRead.keys()) {
    if (!defined.has(name)) {
      page.functionsRead.delete(name);
    }
  }

  await eachLimited(leastRecent(definitions, (f) => page.functionsRead.get(f.name), FunctionsPerPoll), Parallel, async (definition) => {
    const f = await orMissing(getJson(`/v1/functions/${encodeURIComponent(definition.name)}`, token));
    if (f !== null && generation === page.generation) {
      const at = Date.now();
      page.functionsRead.set(f.name, { doc: f, at });
      page.history.add(f.name, at, { queue: f.requestQueueLength, desired: f.desiredInstances, running: f.runningInstances });
    }
  });
  if (generation !== page.generation) {
    return;
  }

  page.history.trim(Date.now(), defined);
  page.clusters = clusters;
  page.nodes = nodes;
  page.functions = [...page.functionsRead.values()].map((r) => r.doc).sort((a, b) => a.name.localeCompare(b.name));
}

/** The first limit of items by the time each was last read (never read first). */
function leastRecent(items, lastRead, limit) {
  return [...items].sort((a, b) => (lastRead(a)?.at ?? 0) - (lastRead(b)?.at ?? 0)).slice(0, limit);
}

/** A 404 (the node or function went away between two requests) is null; any other failure stands. */
async function orMissing(request) {
  try {
    return await request;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return null;
    }

    throw error;
  }
}

// ---------------------------------------------------------------- rendering

function render() {
  renderClusters();
  renderNodes();
  renderFunctions();
}

function renderClusters() {
  const { clusters, degraded, reason } = page.clusters;
  const notice = $("degraded");
  notice.hidden = !degraded;
  notice.textContent = degraded ? `Degraded: no cluster is healthy. ${reason ?? ""}` : "";

  const rows = clusters.map((c) => {
    const backup = [
      c.servedBy.length ? `served by ${c.servedBy.join(", ")}` : "",
      c.servingFor.length ? `serving for ${c.servingFor.join(", ")}` : "",
    ].filter(Boolean).join("; ") || "none";
    const meter = element("meter", { attributes: { min: 0, max: Math.max(c.total, 1), low: c.minSurvivors - 0.5, optimum: c.total, value: c.survivors, "aria-hidden": "true" } });
    return element("tr", { attributes: { "data-cluster": c.name, "data-health": c.health } }, [
      element("th", { text: c.name, attributes: { scope: "row" } }),
      element("td", {}, [element("span", { className: `badge ${c.health}`, text: c.health })]),
      element("td", { className: "survivors" }, [
        element("span", { text: `${c.survivors} / ${c.minSurvivors}` }),
        element("span", { className: "muted", text: ` of ${c.total} nodes ` }),
        meter,
      ]),
      element("td", { text: c.role }),
      element("td", { text: `${c.group} (${c.mode})` }),
      element("td", { text: backup }),
      element("td", { text: `${Math.round(c.trafficShare * 100)}%` }),
    ]);
  });
  $("clusters").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(7, "No clusters yet: no node has registered.")]));
}

function renderNodes() {
  if (!page.clusters) {
    return;
  }

  renderLegend();
  const nodes = [...page.nodes].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.serverNumber - b.serverNumber || a.nodeId.localeCompare(b.nodeId));
  const rows = nodes.map((n) => {
    const lost = n.survival === "lost";
    const known = page.gpus.get(n.nodeId);
    let gpus;
    if (known && known.gpus.length) {
      gpus = element("ul", { className: "gpus", attributes: { "aria-label": `GPUs of ${n.nodeId}` } },
        known.gpus.map((g) => gpuCell(g, page.measure, lost)));
    } else {
      const text = n.gpuTelemetry !== "available" ? n.gpuTelemetry : known ? "no GPUs" : "reading…";
      gpus = element("span", { className: "muted", text });
    }

    const heartbeat = n.connected || !lost ? `${(n.lastHeartbeatAgeMs / 1000).toFixed(1)} s ago` : `${formatAge(n.lastHeartbeatAgeMs)} ago`;
    return element("tr", { className: lost ? "lost" : "", attributes: { "data-node": n.nodeId, "data-survival": n.survival } }, [
      element("th", { text: n.nodeId, attributes: { scope: "row" } }),
      element("td", { text: n.cluster }),
      element("td", { className: "number", text: n.serverNumber }),
      element("td", {}, [element("span", { className: `badge ${n.survival}${n.survives ? "" : " not-surviving"}`, text: n.survival })]),
      element("td", { className: "number", text: heartbeat }),
      element("td", {}, [gpus]),
    ]);
  });
  $("nodes").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(6, "No nodes: no agent has connected to this aggregator.")]));
}

function formatAge(ms) {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

function renderLegend() {
  const legend = $("legend");
  const steps = [0, 0.25, 0.5, 0.75, 1];
  const labels = {
    utilization: (l) => `${l * 100}%`,
    memory: (l) => `${l * 100}%`,
    queue: (l) => (l === 1 ? "8+" : String(l * 8)),
  }[page.measure];
  legend.replaceChildren(element("span", { text: `${Measures[page.measure].label}:` }), ...steps.map((l) => {
    const swatch = element("span", { className: "swatch", text: labels(l) });
    swatch.style.backgroundColor = heatColour(l);
    return swatch;
  }));
}

function renderFunctions() {
  const rows = page.functions.map((f) => element("tr", { attributes: { "data-function": f.name } }, [
    element("th", { text: f.name, attributes: { scope: "row" } }),
    element("td", { text: f.placement }),
    element("td", { className: "number", text: `${f.requestQueueLength} (${f.queued} queued, ${f.inFlight} in flight)` }),
    element("td", { className: "number", text: f.desiredInstances ?? "every node" }),
    element("td", { className: "number", text: f.runningInstances }),
  ]));
  $("functions").tBodies[0].replaceChildren(...(rows.length ? rows : [emptyRow(5, "No functions are defined.")]));

  // One figure per function, kept across polls (redrawn, not replaced) so focus and reading position stay.
  const charts = $("charts");
  const wanted = new Set(page.functions.map((f) => f.name));
  for (const figure of [...charts.children]) {
    if (!wanted.has(figure.dataset.function)) {
      figure.remove();
    }
  }

  const now = Date.now();
  for (const f of page.functions) {
    let figure = [...charts.children].find((c) => c.dataset.function === f.name);
    if (!figure) {
      const ns = "http://www.w3.org/2000/svg";
      figure = element("figure", { className: "chart", attributes: { "data-function": f.name } }, [
        element("figcaption"),
      ]);
      const instances = document.createElementNS(ns, "svg");
      instances.classList.add("instances");
      const queue = document.createElementNS(ns, "svg");
      queue.classList.add("queue");
      figure.append(
        element("p", { className: "chart-title", text: "Instances: desired and running", attributes: { "aria-hidden": "true" } }), instances,
        element("p", { className: "chart-title", text: "Request queue", attributes: { "aria-hidden": "true" } }), queue);
      charts.append(figure);
    }

    // The charts span what this page has sampled (a minute at least), up to the ten minutes it keeps.
    const samples = page.history.of(f.name);
    const windowMs = spanOf(samples[0]?.at ?? now, now, WindowMs);
    const span = `the last ${windowMs / 60000} minute${windowMs === 60000 ? "" : "s"}`;
    figure.querySelector("figcaption").textContent = `${f.name}: instances and request queue, ${span}`;
    const at = (key) => samples.map((s) => ({ at: s.at, value: s[key] }));
    // A function is read every poll, or in turns on a page with more than FunctionsPerPoll of them.
    const gapMs = PollMs * 4 * Math.max(1, Math.ceil(page.functions.length / FunctionsPerPoll));
    const desired = f.desiredInstances ?? "one per node";
    drawChart(figure.querySelector("svg.instances"), {
      now, windowMs, gapMs,
      label: `${f.name} instances over ${span}: now ${f.runningInstances} running, desired ${desired}.`,
      // Desired (dashed) over running, so both show where they are equal.
      series: [
        { name: "running", className: "running", step: true, points: at("running") },
        { name: "desired", className: "desired", step: true, points: at("desired") },
      ],
    });
    drawChart(figure.querySelector("svg.queue"), {
      now, windowMs, gapMs,
      label: `${f.name} request queue over ${span}: now ${f.requestQueueLength}.`,
      series: [{ name: "queue", className: "queue", step: false, points: at("queue") }],
    });
  }
}

function emptyRow(columns, text) {
  return element("tr", {}, [element("td", { className: "muted", text, attributes: { colspan: columns } })]);
}

// ---------------------------------------------------------------- events

function openEvents(generation) {
  const state = $("events-state");
  state.textContent = "Connecting to the event stream…";
  return followEvents(page.token, {
    onEvent: (event) => {
      if (generation !== page.generation) {
        return;
      }

      page.pending.push({ ...event, received: Date.now() });
      if (page.pending.length > EventsKept) {
        page.pending.splice(0, page.pending.length - EventsKept);
      }

      scheduleFlush();
    },
    onState: (s) => {
      if (generation !== page.generation) {
        return;
      }

      if (s === "open") {
        state.textContent = "Live: new events appear at the top.";
        state.dataset.state = "open";
      } else if (s.kind === "refused") {
        stop();
        askForToken(s.message);
      } else {
        state.textContent = `${s.message} Reconnecting…`;
        state.dataset.state = s.kind;
      }
    },
  });
}

/** New events reach the list at most twice a second: a busy fleet sends thousands. */
function scheduleFlush() {
  if (!page.flushTimer && !page.paused) {
    page.flushTimer = setTimeout(flushEvents, 500);
  }
}

function flushEvents() {
  page.flushTimer = 0;
  if (page.paused || page.pending.length === 0) {
    return;
  }

  const list = $("events");
  const items = page.pending.splice(0).reverse().map(eventItem);
  list.prepend(...items);
  while (list.children.length > EventsKept) {
    list.lastElementChild.remove();
  }
}

function eventItem({ event, data, received }) {
  const at = data.at && !data.at.startsWith("1970") ? Date.parse(data.at) : received;
  const to = event === "cluster-health" && data.to ? ` to-${data.to}` : "";
  return element("li", { className: `event ${event}${to}`, attributes: { "data-event": event } }, [
    element("time", { text: clock(at), attributes: { datetime: new Date(at).toISOString() } }),
    element("span", { className: "event-kind", text: event }),
    element("span", { text: describeEvent(event, data) }),
  ]);
}

/** One line for an event of the stream. */
export function describeEvent(event, data) {
  if (event === "cluster-health") {
    const servedBy = data.servedBy?.length ? `, served by ${data.servedBy.join(", ")}` : "";
    return `cluster ${data.cluster}: ${data.from} → ${data.to} (${data.survivors} of ${data.total} nodes survive, threshold ${data.minSurvivors})${servedBy}. ${data.reason ?? ""}`;
  }

  if (event === "decision") {
    const d = data.decision ?? {};
    const where = [d.fromNodeId && `from ${d.fromNodeId}`, d.toNodeId && `to ${d.toNodeId}`].filter(Boolean).join(" ");
    return `${d.kind ?? "decision"} ${data.function ?? ""}${where ? ` ${where}` : ""}: ${d.reason ?? ""}${d.outcome ? ` (${d.outcome})` : ""}`;
  }

  if (event === "disconnected") {
    return `the aggregator ended the stream: ${data.reason ?? ""}; resuming`;
  }

  const workload = data.function ? `function ${data.function}` : data.service ? `service ${data.service}` : data.channel ?? "";
  const parts = [`${workload}: ${data.method ?? ""} ${data.path ?? ""}`.trim()];
  if (data.nodeId) {
    parts.push(`node ${data.nodeId}`);
  }

  if (data.statusCode) {
    parts.push(String(data.statusCode));
  }

  if (data.durationMs) {
    parts.push(`${data.durationMs} ms`);
  }

  if (data.reason) {
    parts.push(data.reason);
  }

  return parts.join(" · ");
}

start();
