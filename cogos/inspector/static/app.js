// The CogOS inspector's page: hash routes over the JSON API in cogos/inspector/app.py.
// Everything shown comes from the agent's files (traces hold model output, memories hold what
// users and models wrote), so text goes into the page as text nodes, never as HTML; the only
// markup taken from the server is what it renders itself (summary.md with raw HTML off, SVG).
"use strict";

const main = document.getElementById("main");
const crumbs = document.getElementById("crumbs");

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, params) {
  const query = new URLSearchParams(params || {}).toString();
  const res = await fetch(`/api/${path}${query ? "?" + query : ""}`);
  const type = res.headers.get("content-type") || "";
  if (!type.includes("json")) {
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    return res;
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

const enc = encodeURIComponent;
const fmt = (v, digits = 3) =>
  v === null || v === undefined ? "–" : typeof v === "number" ? +v.toFixed(digits) : String(v);
const atom = (a) => Array.isArray(a) ? `(${a.join(" ")})` : String(a);
const when = (t) => (t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "–");

function setCrumbs(...parts) {
  crumbs.replaceChildren(...parts.map(([label, href]) => href ? h("a", { href }, label) : h("span", {}, label)));
}

function show(...nodes) { main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); }

function fail(err) { show(h("p", { class: "error", "data-testid": "error" }, String(err.message || err))); }

// ---------------------------------------------------------------- home

async function home() {
  setCrumbs();
  const s = await api("sources");
  const list = (title, items, href) => h("div", { class: "card" }, h("h2", {}, title),
    items.length ? h("ul", {}, items.map((i) => h("li", {}, h("a", { href: href(i.key) }, i.key), " ",
      h("span", { class: "muted" }, i.path)))) : h("p", { class: "muted" }, "none"));
  show(h("h1", {}, "What is open"),
    list("Runs", s.runs.filter((r) => !r.in_experiment), (k) => `#/run/${enc(k)}`),
    list("Experiments", s.experiments, (k) => `#/experiment/${enc(k)}`),
    list("Memories", s.memories, (k) => `#/memory/${enc(k)}`));
  const only = [...s.runs.filter((r) => !r.in_experiment), ...s.experiments, ...s.memories];
  if (only.length === 1) location.replace(
    s.runs.length ? `#/run/${enc(only[0].key)}` : s.experiments.length ? `#/experiment/${enc(only[0].key)}` : `#/memory/${enc(only[0].key)}`);
}

// ---------------------------------------------------------------- runs

async function runPage(key) {
  const run = await api("run", { run: key });
  setCrumbs([`run ${key}`]);
  const t = run.totals || {};
  const head = ["episode", "seed", "outcome", "steps", "optimal", "steps/optimal", "cycles", "LLM calls", "LLM failures", "LLM tokens", "seconds"];
  const rows = run.episodes.map((e) => h("tr", {
    class: "clickable", "data-testid": "episode-row", dataset: { episode: e.episode },
    onclick: () => { location.hash = `#/run/${enc(key)}/episode/${e.episode}`; },
  },
  h("td", {}, h("a", { href: `#/run/${enc(key)}/episode/${e.episode}` }, e.episode)), h("td", {}, e.seed),
  h("td", { class: e.success ? "ok" : "bad" }, !e.finished ? "unfinished" : e.success ? "success" : e.failure ? `failed: ${e.failure}` : e.truncated ? "ran out of steps" : "failed"),
  h("td", {}, fmt(e.steps)), h("td", {}, fmt(e.optimal_steps)), h("td", {}, fmt(e.optimal_ratio, 2)),
  h("td", {}, fmt(e.cycles)), h("td", {}, e.llm.calls), h("td", {}, e.llm.failures), h("td", {}, e.llm.tokens),
  h("td", {}, fmt(e.seconds, 3))));
  show(h("h1", {}, `Run ${run.name || key}`),
    h("div", { class: "card" }, h("table", { class: "kv" }, h("tbody", {},
      [["directory", run.path], ["agent", run.agent], ["environment", run.env], ["policy", run.policy],
        ["started", when(run.started)], ["long-term memory", run.memory ? h("span", {}, run.memory_key ? h("a", { href: `#/memory/${enc(run.memory_key)}` }, run.memory.path) : run.memory.path,
          ` (the run started from log seq ${run.memory.last_seq})`, run.memory_note ? h("span", { class: "warn" }, ` — ${run.memory_note}`) : null) : "off"],
        ["success rate", t.success_rate !== undefined ? `${fmt(100 * t.success_rate, 1)}%` : "–"],
        ["mean steps", fmt(t.mean_steps, 1)], ["cycles/s", fmt(t.cycles_per_second, 0)],
        ["LLM calls / tokens", t.llm_calls !== undefined ? `${t.llm_calls} / ${(t.llm_input_tokens || 0) + (t.llm_output_tokens || 0)}` : "none"],
      ].map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v ?? "–")))))),
    run.traced ? null : h("p", { class: "warn" }, "This run has no trace (trace.enabled was off): only its totals can be shown."),
    h("h2", {}, `Episodes (${run.episodes.length})`),
    h("table", { "data-testid": "episodes" }, h("thead", {}, h("tr", {}, head.map((x) => h("th", {}, x)))), h("tbody", {}, rows)));
}

const LEGENDS = {
  maze: "Red: the agent. Green: the goal. Yellow: in sight now. White: seen before. Grey: never seen.",
  minigrid: "MiniGrid's own drawing: the red triangle is the agent, the lit area what it sees.",
};

function externalBefore(cycles) {
  // the environment's step count before each cycle acted: what its picture is taken at
  const out = []; let n = 0;
  for (const c of cycles) { out.push(n); if (c.decision.choice.kind === "external") n += 1; }
  return out;
}

function candidateTable(attempt, chosenName, testid) {
  const rows = attempt.candidates.slice().sort((a, b) => (+b.value || -Infinity) - (+a.value || -Infinity)).map((c) =>
    h("tr", { class: c.name === attempt.choice ? "chosen" : "", "data-testid": testid, dataset: { name: c.name, value: String(c.value) } },
      h("td", {}, c.name === attempt.choice ? "▶ " : "", c.name), h("td", {}, fmt(c.value, 4)),
      h("td", {}, c.kind), h("td", {}, c.source || "–"),
      h("td", { class: "muted" }, c.args && Object.keys(c.args).length ? JSON.stringify(c.args) : "")));
  return h("table", {}, h("thead", {}, h("tr", {}, ["candidate", "value", "kind", "proposed by", "args"].map((x) => h("th", {}, x)))), h("tbody", {}, rows));
}

function whySentence(c) {
  const d = c.decision;
  const final = d.attempts[d.attempts.length - 1];
  const others = final.candidates.filter((x) => x.name !== d.choice.name)
    .sort((a, b) => (+b.value || -Infinity) - (+a.value || -Infinity)).slice(0, 3)
    .map((x) => `${x.name} (${fmt(x.value, 3)})`);
  const rejected = d.attempts.filter((a) => a.rejection).map((a) => `${a.choice} (rejected by ${a.rejection.by}: ${a.rejection.reason})`);
  let s = `Step ${c.step}${c.decision.choice.kind === "external" ? "" : " (internal action)"}: chose ${d.choice.name}`;
  s += ` with value ${fmt(d.value, 3)}, proposed by ${d.choice.source || "?"}`;
  if (others.length) s += `, over ${others.join(", ")}`;
  if (rejected.length) s += `; first ${rejected.join("; then ")}`;
  if (d.forced) s += ". Every round was rejected: the best candidate was taken (forced)";
  return s + ".";
}

function durationsTable(durations) {
  const entries = Object.entries(durations || {});
  const max = Math.max(1, ...entries.map(([, v]) => v));
  const total = entries.reduce((a, [, v]) => a + v, 0);
  return h("table", { "data-testid": "durations" }, h("tbody", {},
    entries.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, h("span", { class: "bar", style: `width:${Math.max(2, 200 * v / max)}px` }), `${fmt(v, 1)} µs`))),
    h("tr", {}, h("td", {}, "total"), h("td", {}, `${fmt(total, 1)} µs`))));
}

function llmCalls(calls) {
  if (!calls || !calls.length) return h("p", { class: "muted", "data-testid": "llm-none" }, "No model calls in this cycle.");
  return h("div", {}, calls.map((call, i) => h("details", { class: "card", "data-testid": "llm-call", open: i === 0 },
    h("summary", {}, `${call.module || "llm"}: ${call.what} — ${call.model || ""}, ${call.attempts} attempt(s), ${call.input_tokens}+${call.output_tokens} tokens, ${fmt(call.seconds, 2)} s`,
      call.errors && call.errors.length ? h("span", { class: "bad" }, ` (${call.errors.length} error(s))`) : null),
    (call.messages || []).map((m) => h("div", {}, h("h3", {}, m.role), h("pre", {}, typeof m.content === "string" ? m.content : JSON.stringify(m.content, null, 1)))),
    h("h3", {}, "answer"), h("pre", { "data-testid": "llm-answer" }, call.answer || ""),
    call.errors && call.errors.length ? h("div", {}, h("h3", {}, "errors"), h("ul", {}, call.errors.map((e) => h("li", { class: "bad" }, e)))) : null)));
}

function attemptsView(d) {
  // the propose / evaluate / select rounds of one decision, as the trace and the memory keep it
  return d.attempts.map((a, i) => h("div", { class: "card", "data-testid": "attempt" },
    h("h3", {}, `Round ${i + 1}: propose, evaluate, select → ${a.choice}`),
    candidateTable(a, d.choice.name, "candidate"),
    a.rejection ? h("div", { class: "rejection", "data-testid": "rejection", dataset: { by: a.rejection.by } },
      h("b", {}, `Rejected by ${a.rejection.by}: `), a.rejection.reason) : null));
}

function cyclePanel(c, memoryKey) {
  const d = c.decision;
  const attempts = attemptsView(d);
  const o = c.outcome || {};
  const facts = (c.percept && c.percept.facts) || [];
  const retrieved = c.retrieved || [];
  return h("div", {},
    h("div", { class: "why", "data-testid": "why" }, whySentence(c)),
    h("p", {}, h("span", { class: "tag" }, `cycle ${c.cycle}`), h("span", { class: "tag" }, `step ${c.step}`),
      h("span", { class: "tag", "data-testid": "choice" }, `choice ${d.choice.name}`),
      d.forced ? h("span", { class: "tag bad", "data-testid": "forced" }, "forced") : null,
      h("span", { class: "tag" }, `reward ${fmt(o.reward)}`),
      o.terminated ? h("span", { class: "tag " + (o.success ? "ok" : "bad") }, o.success ? "goal reached" : "episode ended") : null,
      o.info && o.info.action_success === false ? h("span", { class: "tag bad" }, "action failed") : null),
    h("h2", {}, "Decision"), attempts,
    h("h2", {}, `Memory recalled (${retrieved.length})`),
    retrieved.length ? h("table", { "data-testid": "retrieved" }, h("thead", {}, h("tr", {}, ["item", "score", "kind", "by", "content"].map((x) => h("th", {}, x)))),
      h("tbody", {}, retrieved.map((r) => h("tr", { "data-testid": "recalled" },
        h("td", {}, r.ref && memoryKey ? h("a", { href: `#/memory/${enc(memoryKey)}/item/${enc(r.ref)}` }, r.ref) : r.ref || "–"),
        h("td", {}, fmt(r.score, 4)), h("td", {}, r.kind || ""), h("td", {}, r.source || ""),
        h("td", {}, Array.isArray(r.content) ? atom(r.content) : typeof r.content === "string" ? r.content : JSON.stringify(r.content)))))) :
      h("p", { class: "muted", "data-testid": "retrieved-none" }, "Nothing was recalled for this cycle (no retrieval module, or memory off for this run)."),
    h("h2", {}, "Cost"), durationsTable(c.durations_us),
    h("h2", {}, `Model calls (${(c.llm || []).length})`), llmCalls(c.llm),
    h("h2", {}, `Percept (${facts.length} facts)`),
    c.percept && c.percept.text ? h("pre", {}, c.percept.text) : null,
    h("details", {}, h("summary", {}, "facts"), h("div", { class: "facts" }, facts.map((f) => h("div", {}, atom(f))))));
}

async function episodePage(key, number, cycleAt) {
  const ep = await api("episode", { run: key, episode: number });
  setCrumbs([`run ${key}`, `#/run/${enc(key)}`], [`episode ${number}`]);
  const cycles = ep.cycles;
  const s = ep.summary;
  if (!cycles.length) { show(h("h1", {}, `Episode ${number}`), h("p", { class: "muted" }, "This episode has no cycles in the trace.")); return; }
  const before = externalBefore(cycles);
  let at = Math.max(0, Math.min(cycles.length - 1, cycleAt || 0));
  const slider = h("input", { type: "range", min: 0, max: cycles.length - 1, value: at, "data-testid": "cycle-slider", "aria-label": "cycle" });
  const stepBox = h("input", { type: "number", min: 1, value: cycles[at].step, "data-testid": "step-input", "aria-label": "step", style: "width:5rem" });
  const label = h("span", { "data-testid": "cycle-label" });
  const marks = cycles.map((c, i) => {
    const d = c.decision;
    const kinds = [d.forced ? "forced" : d.attempts.some((a) => a.rejection) ? "rejected" : "",
      (c.llm || []).length ? "llm" : "", d.choice.kind === "internal" ? "internal" : "",
      c.outcome && c.outcome.terminated ? (c.outcome.success ? "goal" : "end") : ""].filter(Boolean);
    return h("span", { class: ["mark", ...kinds].join(" "), title: `cycle ${c.cycle}, step ${c.step}: ${d.choice.name}${kinds.length ? " (" + kinds.join(", ") + ")" : ""}`,
      "data-testid": "timeline-mark", onclick: () => go(i) });
  });
  const timeline = h("div", { class: "timeline", "data-testid": "timeline" }, marks);
  const picture = h("div", { class: "picture", "data-testid": "picture" });
  const panel = h("div", { "data-testid": "cycle-panel" });
  let token = 0;
  async function render() {
    const c = cycles[at];
    slider.value = at; stepBox.value = c.step;
    marks.forEach((m, i) => m.classList.toggle("at", i === at));
    label.textContent = `cycle ${c.cycle} of ${cycles.length}, step ${c.step}`;
    history.replaceState(null, "", `#/run/${enc(key)}/episode/${number}/cycle/${c.cycle}`);
    panel.replaceChildren(cyclePanel(c, ep.memory_key));
    const mine = ++token;
    try {
      const res = await api("frame", { run: key, episode: number, step: before[at] });
      if (mine !== token) return;
      if (res instanceof Response) {
        const url = URL.createObjectURL(await res.blob());
        picture.replaceChildren(h("img", { src: url, alt: `the environment before step ${c.step}`, "data-testid": "frame" }),
          h("p", { class: "muted" }, `Before the action of step ${c.step}: replayed from the run's config and the episode's seed.`,
            LEGENDS[ep.env] ? h("br") : null, LEGENDS[ep.env] || null));
      } else if (res.text) {
        picture.replaceChildren(h("pre", { "data-testid": "frame-text" }, res.text));
      } else {
        picture.replaceChildren(h("p", { class: "muted" }, res.reason || "No picture."), c.percept && c.percept.text ? h("pre", {}, c.percept.text) : null);
      }
    } catch (err) { if (mine === token) picture.replaceChildren(h("p", { class: "error" }, String(err.message || err))); }
  }
  const go = (i) => { at = Math.max(0, Math.min(cycles.length - 1, i)); render(); };
  slider.addEventListener("input", () => go(+slider.value));
  stepBox.addEventListener("change", () => {
    const i = cycles.findIndex((c) => c.step >= +stepBox.value && (c.decision.choice.kind === "external"));
    go(i < 0 ? cycles.length - 1 : i);
  });
  document.onkeydown = (e) => {
    if (e.target && ["INPUT", "TEXTAREA"].includes(e.target.tagName) && e.target.type !== "range") return;
    if (e.key === "ArrowRight" || e.key === "j") { go(at + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft" || e.key === "k") { go(at - 1); e.preventDefault(); }
  };
  show(h("h1", {}, `Episode ${number}: `, h("span", { class: s.success ? "ok" : "bad" }, s.success ? "success" : s.finished ? "failed" : "unfinished"),
    h("span", { class: "muted" }, `  seed ${s.seed}, ${s.steps ?? "?"} steps (optimal ${s.optimal_steps ?? "–"}), ${s.cycles} cycles, ${s.llm.calls} model calls, ${s.llm.tokens} tokens`)),
  s.goal ? h("p", {}, h("b", {}, "Goal: "), s.goal) : null,
  h("div", { class: "controls" }, h("button", { onclick: () => go(at - 1), "data-testid": "prev" }, "◀ prev"), slider,
    h("button", { onclick: () => go(at + 1), "data-testid": "next" }, "next ▶"), h("label", {}, "step ", stepBox), label,
    h("span", { class: "muted" }, "keys: ← → (or j k)")),
  timeline,
  h("p", { class: "muted legend" }, h("span", { class: "mark rejected" }), "rejection ", h("span", { class: "mark forced" }), "forced ",
    h("span", { class: "mark llm" }), "model call ", h("span", { class: "mark internal" }), "internal action ", h("span", { class: "mark goal" }), "goal"),
  h("div", { class: "grid" }, h("div", {}, h("div", { class: "card" }, picture)), h("div", {}, panel)));
  render();
}

// ---------------------------------------------------------------- memory

function contribution(part) { return part ? `#${part.rank} (${fmt(part.score, 4)})` : "–"; }

async function memoryPage(key, query) {
  const m = await api("memory", { memory: key });
  setCrumbs([`memory ${key}`]);
  const input = h("input", { type: "search", value: query || "", placeholder: "search the memory (hybrid: bm25 + vectors + graph)", "data-testid": "search-input" });
  const mode = h("select", { "data-testid": "search-mode" }, ["", "hybrid", "dense", "lexical"].map((x) => h("option", { value: x }, x || `default (${m.mode})`)));
  const results = h("div", { "data-testid": "search-results" });
  async function search() {
    const q = input.value.trim();
    if (!q) { results.replaceChildren(); return; }
    history.replaceState(null, "", `#/memory/${enc(key)}/search/${enc(q)}`);
    const started = performance.now();
    try {
      const r = await api("memory/search", { memory: key, q, k: 20, mode: mode.value });
      const ms = performance.now() - started;
      results.replaceChildren(h("p", { class: "muted", "data-testid": "search-count" }, `${r.hits.length} hit(s) in ${fmt(ms, 0)} ms`),
        h("table", {}, h("thead", {}, h("tr", {}, ["id", "score", "bm25", "vector", "graph", "kind", "text"].map((x) => h("th", {}, x)))),
          h("tbody", {}, r.hits.map((hit) => h("tr", { "data-testid": "hit", dataset: { id: hit.item.id } },
            h("td", {}, h("a", { href: `#/memory/${enc(key)}/item/${hit.item.id}` }, hit.item.id)), h("td", {}, fmt(hit.score, 5)),
            h("td", { "data-testid": "hit-lexical" }, contribution(hit.lexical)), h("td", { "data-testid": "hit-dense" }, contribution(hit.dense)),
            h("td", {}, hit.graph ? h("a", { href: `#/memory/${enc(key)}/item/${hit.graph.from}` }, `via ${hit.graph.from}`) : "–"),
            h("td", {}, hit.item.kind), h("td", { "data-testid": "hit-text" }, hit.item.text))))));
    } catch (err) { results.replaceChildren(h("p", { class: "error", "data-testid": "error" }, String(err.message || err))); }
  }
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") search(); });
  const st = m.stats || {};
  const episodes = Object.entries(m.episodes || {});
  show(h("h1", {}, `Memory ${key}`),
    h("div", { class: "card" }, h("table", { class: "kv" }, h("tbody", {},
      [["directory", m.path], ["items", Object.entries(st.items || {}).map(([k, n]) => `${n} ${k}`).join(", ")],
        ["deleted", st.deleted], ["vectors", st.vectors], ["log", st.wal ? `last seq ${st.wal.last_seq}, ${st.wal.segments} segment(s), ${st.wal.bytes} bytes` : "–"],
        ["embedder", m.embedder || "none (lexical search only)"], ["search mode", m.mode]]
        .map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v ?? "–"))))),
    h("details", {}, h("summary", {}, "all statistics"), h("pre", {}, JSON.stringify(st, null, 1)))),
    h("div", { class: "controls" }, input, mode, h("button", { onclick: search, "data-testid": "search-button" }, "search")),
    results,
    h("h2", {}, `Episodes (${episodes.length})`),
    h("p", {}, episodes.slice(0, 200).map(([id, n]) => h("span", { class: "tag" }, `${id}: ${n} events`))));
  if (query) search();
}

async function itemPage(key, id) {
  const it = await api("memory/item", { memory: key, id });
  setCrumbs([`memory ${key}`, `#/memory/${enc(key)}`], [`item ${id}`]);
  const rows = [["log sequence number", it.seq], ["kind", it.kind], ["episode", it.episode], ["agent", it.agent],
    ["time", when(it.time)], ["valid from", when(it.valid_from ?? it.time)], ["valid to", it.valid_to ? when(it.valid_to) : "open-ended"],
    ["TTL", it.ttl ? `${fmt(it.ttl, 1)} s` : "none"], ["valid now", it.valid ? "yes" : "no"], ["deleted", it.deleted ? "yes" : "no"],
    ["retrieved", `${it.hits} time(s), last ${when(it.last_access)}`], ["heat", fmt(it.heat, 4)], ["has vector", it.has_vector ? "yes" : "no"]];
  const svg = h("div", { class: "svg-box", "data-testid": "graph" }, h("p", { class: "muted" }, "drawing…"));
  const d = it.decision;
  show(h("h1", {}, `Item ${id}`),
    h("div", { class: "grid" },
      h("div", {}, h("div", { class: "card" }, h("table", { class: "kv", "data-testid": "item-fields" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v ?? "–")))))),
        h("div", { class: "card" }, h("h3", {}, "text"), h("pre", { "data-testid": "item-text" }, it.text || ""),
          it.facts.length ? h("details", {}, h("summary", {}, `${it.facts.length} facts`), h("div", { class: "facts" }, it.facts.map((f) => h("div", {}, atom(f))))) : null,
          Object.keys(it.metadata || {}).length ? h("pre", {}, JSON.stringify(it.metadata, null, 1)) : null)),
      h("div", {}, h("h2", {}, "Neighbourhood in the episodic graph"), svg)),
    d ? h("div", { class: "card", "data-testid": "item-decision" }, h("h2", {}, "Why: the decision this event records"),
      h("p", {}, `Chose ${d.choice.name} (value ${fmt(d.value, 4)}, proposed by ${d.choice.source || "?"})`,
        d.forced ? h("span", { class: "bad" }, ", forced: every round was rejected") : null,
        d.outcome ? `; reward ${fmt(d.outcome.reward)}${d.outcome.terminated ? (d.outcome.success ? ", goal reached" : ", episode ended") : ""}` : ""),
      attemptsView(d)) : null,
    it.preceding && it.preceding.length ? h("div", { class: "card" }, h("h2", {}, "The events before it"),
      h("ul", {}, it.preceding.map((p) => h("li", {}, h("a", { href: `#/memory/${enc(key)}/item/${p.id}` }, p.id), " ", p.text)))) : null,
    it.neighbours.length ? h("div", { class: "card" }, h("h2", {}, `Neighbours (${it.neighbours.length})`),
      h("ul", {}, it.neighbours.map((n) => h("li", {}, h("a", { href: `#/memory/${enc(key)}/item/${n.id}` }, n.id), ` ${n.kind}: `, n.text)))) : null);
  try {
    const res = await api("memory/graph.svg", { memory: key, id });
    svg.innerHTML = await res.text(); // our server's SVG: matplotlib escapes the labels it writes
  } catch (err) { svg.replaceChildren(h("p", { class: "error" }, String(err.message || err))); }
}

// ---------------------------------------------------------------- experiments

async function experimentPage(key) {
  const x = await api("experiment", { experiment: key });
  setCrumbs([`experiment ${key}`]);
  const summary = h("div", { class: "card", "data-testid": "summary" });
  summary.innerHTML = x.summary_html; // rendered by markdown-it on the server with raw HTML off
  show(h("h1", {}, `Experiment ${key}`), summary,
    x.plots.length ? h("div", { class: "card plots" }, h("h2", {}, "Plots"), x.plots.map((p) => h("img", { src: `/api/experiment/plot?experiment=${enc(key)}&name=${enc(p)}`, alt: p }))) : null,
    h("div", { class: "card" }, h("h2", {}, `Runs (${x.runs.length})`), h("ul", { "data-testid": "experiment-runs" }, x.runs.map((r) => h("li", {}, h("a", { href: `#/run/${enc(`${key}/${r}`)}` }, r))))));
}

// ---------------------------------------------------------------- routing

async function route() {
  document.onkeydown = null;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  try {
    if (parts[0] === "run" && parts[2] === "episode") await episodePage(parts[1], +parts[3], parts[4] === "cycle" ? +parts[5] : 0);
    else if (parts[0] === "run") await runPage(parts[1]);
    else if (parts[0] === "memory" && parts[2] === "item") await itemPage(parts[1], +parts[3]);
    else if (parts[0] === "memory") await memoryPage(parts[1], parts[2] === "search" ? parts.slice(3).join("/") : "");
    else if (parts[0] === "experiment") await experimentPage(parts[1]);
    else await home();
  } catch (err) { fail(err); }
}

window.addEventListener("hashchange", route);
route();
