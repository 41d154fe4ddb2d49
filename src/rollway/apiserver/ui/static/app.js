// The Rollway dashboard: reads and acts through the JSON API under /api/v1 with the session the
// server keeps (a cookie; the bearer token never reaches this script). No build step, no
// dependency: every page is rendered here from the API's answers, text only (no innerHTML).

const main = document.getElementById("main");
const FINISHED = new Set(["succeeded", "failed", "aborted", "rejected"]);
const TONE = { succeeded: "ok", Succeeded: "ok", Healthy: "ok", approved: "ok", running: "warn",
  Running: "warn", waiting: "warn", Progressing: "warn", Paused: "warn", pending: "muted",
  Pending: "muted", failed: "bad", Failed: "bad", Error: "bad", Degraded: "bad", aborted: "bad",
  rejected: "bad", Omitted: "muted", Skipped: "muted", pass: "ok", fail: "bad", marginal: "warn",
  inconclusive: "warn", Inconclusive: "warn", nodata: "muted" };

// -- helpers --------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}
const badge = (text) => h("span", { class: `badge ${TONE[text] || ""}` }, text || "—");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const link = (href, text) => h("a", { href }, text);
// `repository@sha256:0123456789ab…`: enough to tell revisions apart (the full one in the title).
const shortImage = (image) => image.replace(/^.*\/([^/]+@sha256:[0-9a-f]{12})[0-9a-f]+$/, "$1…");
const say = (text) => { document.getElementById("status").textContent = text; };

class Problem extends Error {
  constructor(status, body) {
    super(body.detail || `HTTP ${status}`);
    this.status = status;
    this.field = body.field || "";
  }
}

function login() {
  const here = location.pathname + location.search;
  location.assign(`/ui/login?next=${encodeURIComponent(here)}`);
  return new Promise(() => {}); // the page is leaving
}

async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", "X-Rollway-UI": "1" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(`/api/v1${path}`, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (answer.status === 401) return login();
  const text = await answer.text();
  const data = text && answer.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text;
  if (!answer.ok) throw new Problem(answer.status, typeof data === "object" ? data : { detail: text });
  return data;
}

const q = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();

function render(title, ...content) {
  document.title = `${title} — Rollway`;
  main.replaceChildren(h("h1", {}, title), ...content.flat());
}

// A confirmation that says what will happen; resolves to the comment (or "") or null.
function confirmAction(text, { comment = false, label = "Confirm" } = {}) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-comment").hidden = !comment;
  const input = document.getElementById("confirm-comment-input");
  input.value = "";
  input.required = comment;
  document.getElementById("confirm-ok").textContent = label;
  document.getElementById("confirm-error").textContent = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok" ? input.value : null),
      { once: true });
  });
}

// An action button: confirm, call the API, show its answer (or its problem) and refresh.
function action(label, text, call, { comment = false, danger = false, after } = {}) {
  return h("button", { type: "button", class: danger ? "danger" : "", async onclick() {
    const given = await confirmAction(text, { comment, label });
    if (given === null) return;
    try {
      const done = await call(given);
      say(done?.detail || `${label}: done`);
      if (after) after(done);
    } catch (err) {
      say(`${label} refused: ${err.message}`);
    }
  } }, label);
}

const roleCache = new Map(); // per page: a project's roles are asked for once
function rolesOf(project) {
  if (!roleCache.has(project))
    roleCache.set(project, api(`/projects/${project}`).then((p) => new Set(p.yourRoles), () => new Set()));
  return roleCache.get(project);
}

// -- pages ----------------------------------------------------------------------------------

async function appsPage() {
  const [apps, deployments] = await Promise.all([api("/apps"), api("/deployments?limit=500")]);
  const latest = new Map();
  for (const d of deployments.items) {
    const key = `${d.app}/${d.env}`;
    if (!latest.has(key)) latest.set(key, d);
  }
  // The Rollout's phase where something was deployed (Healthy, Progressing, Paused, Degraded).
  const phases = new Map(await Promise.all([...latest.keys()].map(async (key) => {
    const [app, env] = key.split("/");
    try { return [key, (await api(`/apps/${app}/environments/${env}/rollout`)).phase]; } catch { return [key, ""]; }
  })));
  const search = h("input", { type: "search", id: "filter", placeholder: "app, version, user…" });
  const byProject = new Map();
  for (const app of apps.items) {
    if (!byProject.has(app.project)) byProject.set(app.project, []);
    byProject.get(app.project).push(app);
  }
  const sections = [...byProject.entries()].sort().map(([project, list]) => h("section", {},
    h("h2", {}, `Project ${project}`),
    h("div", { class: "scroll" }, h("table", {},
      h("caption", { class: "muted" }, `Applications of ${project} by environment`),
      h("thead", {}, h("tr", {}, ["Application", "Environment", "Version", "Strategy", "Rollout",
        "Deployment", "Deployed by", "When"].map((c, i) => h("th", { scope: "col", class: i > 5 ? "wide" : "" }, c)))),
      h("tbody", {}, list.flatMap((app) => app.environments.map((env) => {
        const d = latest.get(`${app.name}/${env.name}`);
        const phase = phases.get(`${app.name}/${env.name}`);
        return h("tr", { "data-search": [app.name, env.name, d?.version, d?.createdBy, d?.state, phase].filter(Boolean).join(" ") },
          h("td", {}, link(`/ui/apps/${app.name}`, app.name)), h("td", {}, env.name),
          h("td", {}, d ? link(`/ui/deployments/${d.id}`, d.version) : "not deployed"),
          h("td", {}, d?.strategy || "—"), h("td", {}, phase ? badge(phase) : "—"), h("td", {}, d ? badge(d.state) : "—"),
          h("td", { class: "wide" }, d?.createdBy || "—"), h("td", { class: "wide" }, when(d?.createdAt)));
      })))))));
  search.addEventListener("input", () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const row of main.querySelectorAll("tr[data-search]"))
      row.hidden = !words.every((w) => row.dataset.search.toLowerCase().includes(w));
  });
  render("Applications", h("form", { class: "inline", role: "search", onsubmit: (e) => e.preventDefault() },
    h("label", { for: "filter" }, "Filter", search)),
    sections.length ? sections : h("p", {}, "No application you can see yet."));
}

async function appPage(name) {
  const app = await api(`/apps/${name}`);
  const roles = await rolesOf(app.project);
  const deployer = roles.has("deployer");
  const deployments = await api(`/deployments?${q({ app: name, limit: 20 })}`);
  const envs = await Promise.all(app.environments.map(async (env) => {
    let rollout = null;
    try { rollout = await api(`/apps/${name}/environments/${env.name}/rollout`); } catch (err) {
      if (!(err instanceof Problem) || err.status !== 404) throw err;
    }
    return h("section", { "aria-labelledby": `env-${env.name}` },
      h("h2", { id: `env-${env.name}` }, `Environment ${env.name}`,
        env.policy?.approvalRequired ? h("span", { class: "muted" }, " (approval required)") : null),
      rollout ? rolloutView(rollout, await provenance(rollout)) : h("p", {}, "No Rollout in the cluster yet."),
      deployer ? envActions(name, env.name, rollout) : null);
  }));
  render(`Application ${name}`,
    h("p", {}, `Project ${app.project}. Your roles: ${[...roles].join(", ") || "none"}.`),
    ...envs,
    h("h2", {}, "Deployments"), deploymentTable(deployments.items));
}

// Each revision's provenance, from the deployment that made it: jar, its sha256, chart commit.
async function provenance(rollout) {
  const ids = [...new Set(rollout.revisions.map((rev) => rev.deploymentId).filter(Boolean))];
  const found = await Promise.all(ids.map((id) => api(`/deployments/${id}`).catch(() => null)));
  return new Map(found.filter(Boolean).map((d) => [d.id, d.provenance]));
}

const provenanceText = (p) => (p ? [p.coordinates, p.jarSha256 && `jar sha256 ${p.jarSha256.slice(0, 12)}…`,
  p.chartCommit && `chart ${p.chartCommit.slice(0, 10)}`].filter(Boolean).join(" · ") : "—");

function rolloutView(r, provenances) {
  const weight = r.strategy === "canary" && r.setWeight !== null
    ? `${r.actualWeight ?? "?"}% (set ${r.setWeight}%)` : null;
  return h("div", { class: "rollout" },
    h("dl", { class: "facts" },
      h("dt", {}, "Phase"), h("dd", {}, badge(r.phase), r.message ? ` ${r.message}` : ""),
      h("dt", {}, "Strategy"), h("dd", {}, r.strategy),
      h("dt", {}, "Revision"), h("dd", {}, String(r.revision ?? "—")),
      h("dt", {}, "Replicas"), h("dd", {}, `${r.ready}/${r.desired} ready, ${r.updated} updated`),
      weight ? [h("dt", {}, "Canary weight"), h("dd", {}, weight)] : [],
      r.steps ? [h("dt", {}, "Step"), h("dd", {}, `${r.step ?? 0}/${r.steps}`)] : [],
      r.pauseReasons.length ? [h("dt", {}, "Paused"), h("dd", {}, r.pauseReasons.join(", "))] : []),
    h("div", { class: "scroll" }, h("table", {},
      h("caption", { class: "muted" }, "Revisions, ReplicaSets and pods"),
      h("thead", {}, h("tr", {}, ["Revision", "Status", "Ready", "Image", "Pods", "Deployment", "Provenance"]
        .map((c, i) => h("th", { scope: "col", class: i === 3 || i === 6 ? "wide" : "" }, c)))),
      h("tbody", {}, r.revisions.map((rev) => h("tr", {},
        h("td", {}, `${rev.revision} (${rev.hash})`), h("td", {}, badge(rev.status)),
        h("td", {}, `${rev.ready}/${rev.desired}`), h("td", { class: "wide", title: rev.images.join(" ") }, rev.images.map(shortImage).join(" ")),
        h("td", {}, rev.pods.map((p) => `${p.name} ${p.status}`).join(", ") || "—"),
        h("td", {}, rev.deploymentId ? link(`/ui/deployments/${rev.deploymentId}`, rev.deploymentId) : "—"),
        h("td", { class: "wide" }, provenanceText(provenances.get(rev.deploymentId)))))))),
    r.analysis ? analysisView(r.analysis) : null);
}

// The judge's newest analysis: its verdict and line, then each metric canary against baseline.
function analysisView(a) {
  const j = a.judgement;
  const median = (side, unit) => !side ? "—" : unit === "ratio" ? `${(side.median * 100).toFixed(1)}%`
    : unit === "seconds" ? `${Math.round(side.median * 1000)} ms` : String(side.median);
  const pValue = (p) => (p === null ? "—" : p < 0.001 ? "< 0.001" : p.toFixed(3));
  return h("div", { class: "analysis" },
    h("dl", { class: "facts" },
      h("dt", {}, "Analysis"), h("dd", {}, `${a.name} `, badge(a.phase)),
      j ? [h("dt", {}, "Verdict"), h("dd", {}, badge(j.verdict), ` ${j.reason}`)] : [],
      !j && a.message ? [h("dt", {}, "Message"), h("dd", {}, a.message)] : []),
    j && j.metrics.length ? h("div", { class: "scroll" }, h("table", {},
      h("caption", { class: "muted" }, "Canary against baseline, medians over the window"),
      h("thead", {}, h("tr", {}, ["Metric", "Canary", "Baseline", "p-value", "Result"]
        .map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, j.metrics.map((m) => h("tr", {},
        h("td", {}, m.name), h("td", {}, median(m.canary, m.unit)), h("td", {}, median(m.baseline, m.unit)),
        h("td", {}, pValue(m.pValue)), h("td", {}, badge(m.outcome))))))) : null);
}

function envActions(app, env, rollout) {
  const version = h("input", { id: `version-${env}`, name: "version", required: true,
    autocomplete: "off", "aria-describedby": `version-${env}-error` });
  const strategy = h("select", { id: `strategy-${env}`, name: "strategy" },
    ["", "bluegreen", "canary", "rolling"].map((s) => h("option", { value: s }, s || "as configured")));
  const error = h("p", { id: `version-${env}-error`, class: "error", role: "alert" });
  const form = h("form", { class: "inline", "aria-label": `Upgrade ${app} in ${env}`, async onsubmit(e) {
    e.preventDefault();
    error.textContent = "";
    const body = { kind: "upgrade", env, version: version.value.trim() };
    if (strategy.value) body.strategy = strategy.value;
    const go = await confirmAction(`Upgrade ${app} in ${env} to version ${body.version}` +
      `${body.strategy ? ` with the ${body.strategy} strategy` : ""}: the pipeline builds and rolls it out.`,
      { label: "Upgrade" });
    if (go === null) return;
    try {
      const started = await api(`/apps/${app}/deployments`, { method: "POST", body });
      location.assign(`/ui/deployments/${started.id}`);
    } catch (err) {
      error.textContent = err.message; // the API's problem detail, next to the field
      version.setAttribute("aria-invalid", "true");
      version.focus();
    }
  } },
  h("label", { for: version.id }, "Version", version), h("label", { for: strategy.id }, "Strategy", strategy),
  h("button", { type: "button", async onclick() {
    error.textContent = "";
    preview.replaceChildren(h("p", {}, "Planning…"));
    const body = { kind: "upgrade", env, version: version.value.trim() };
    if (strategy.value) body.strategy = strategy.value;
    try {
      preview.replaceChildren(planView(await api(`/apps/${app}/deployments?dryRun=true`, { method: "POST", body })));
    } catch (err) {
      preview.replaceChildren();
      error.textContent = err.message;
      version.setAttribute("aria-invalid", "true");
    }
  } }, "Preview plan"),
  h("button", { type: "submit", class: "primary" }, "Upgrade"));
  const preview = h("div", { class: "plan", "aria-live": "polite" });
  const buttons = rollout ? h("div", { class: "actions" },
    action("Roll back", `Roll ${app} in ${env} back to the previous revision: its pods take the traffic again.`,
      async () => {
        const done = await api(`/apps/${app}/environments/${env}/rollout/rollback`, { method: "POST", body: {} });
        return { detail: `${app} in ${env}: rolled back to revision ${done.restoredRevision}` };
      },
      { danger: true, after: () => route() })) : null;
  return h("div", {}, form, error, preview, buttons);
}

// What a deployment would do (the API's dry run): nothing is recorded or submitted.
function planView(p) {
  const changes = p.manifests.changes || {};
  const facts = [
    ["Artifact", p.artifact.error || `${p.artifact.coordinates} → ${p.artifact.version}`],
    ["Image", p.image.error || `${p.image.action} ${p.image.repository}${p.image.digest ? `@${p.image.digest}` : ""}`],
    ["Strategy", `${p.strategy.name}: ${p.strategy.steps.join(", ")}`],
    ["Approval", p.approvalRequired ? "required" : "not required"],
    ["Window", p.window.open ? "open" : `closed until ${when(p.window.nextOpening)}`],
    ["Objects", p.manifests.error || Object.entries(changes).map(([k, v]) => `${v.length} ${k}`).join(", ")],
    ["Blocked by", p.blockedBy],
  ];
  return h("section", { "aria-label": "Plan" }, h("h3", {}, "Plan (dry run: nothing started)"),
    h("dl", { class: "facts" }, facts.filter(([, v]) => v).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    p.manifests.diff ? h("pre", { tabindex: "0", "aria-label": "Manifest diff" }, p.manifests.diff) : null);
}

function deploymentTable(items) {
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["Deployment", "Env", "Version", "State", "By", "When"]
      .map((c, i) => h("th", { scope: "col", class: i > 3 ? "wide" : "" }, c)))),
    h("tbody", {}, items.map((d) => h("tr", {},
      h("td", {}, link(`/ui/deployments/${d.id}`, `${d.app} ${d.kind}`)), h("td", {}, d.env),
      h("td", {}, d.version), h("td", {}, badge(d.state)),
      h("td", { class: "wide" }, d.createdBy), h("td", { class: "wide" }, when(d.createdAt)))))));
}

async function deploymentPage(id) {
  const [d, me] = await Promise.all([api(`/deployments/${id}`), whoami()]);
  const app = await api(`/apps/${d.app}`);
  const roles = await rolesOf(app.project);
  const steps = h("ol", { class: "steps", "aria-label": "Pipeline steps" });
  const state = h("span", { id: "state" });
  const stream = h("p", { class: "stream muted", role: "status", "aria-live": "polite" });
  const logs = h("pre", { hidden: true, tabindex: "0", "aria-label": "Step logs" });
  const actions = h("div", { class: "actions" });
  const show = (snapshot) => {
    state.replaceChildren(badge(snapshot.state), snapshot.message ? ` ${snapshot.message}` : "");
    steps.replaceChildren(...snapshot.steps.map((s) => h("li", { "data-step": s.name, "data-phase": s.phase },
      h("span", {}, s.name), h("span", {}, badge(s.phase), s.durationSeconds != null ? ` ${Math.round(s.durationSeconds)} s` : ""))));
    actions.replaceChildren(...deploymentActions({ ...d, ...snapshot }, roles, me));
  };
  show(d);
  const p = d.provenance;
  render(`Deployment ${d.id}`,
    h("p", {}, link(`/ui/apps/${d.app}`, d.app), ` ${d.kind} to ${d.env}, version ${d.version} (${d.strategy}), started by ${d.createdBy} ${when(d.createdAt)}.`),
    h("p", {}, "State: ", state), stream, actions,
    h("h2", {}, "Steps"), steps,
    h("h2", {}, "Plan and provenance"),
    h("dl", { class: "facts" }, [["Plan", p.plan], ["Artifact", p.coordinates], ["Jar sha256", p.jarSha256],
      ["Image", p.image], ["Chart", p.chartRepo], ["Chart commit", p.chartCommit],
      ["Rollout revision", p.rolloutRevision]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "—")])),
    (roles.has("approver") || roles.has("deployer")) ? manifestReview(id) : null,
    h("h2", {}, "Approval"), approvalView(d),
    h("h2", {}, "Logs"), h("button", { type: "button", async onclick() {
      logs.hidden = false;
      logs.textContent = "Loading…";
      try { logs.textContent = (await api(`/deployments/${id}/logs`)) || "(no log lines)"; } catch (err) { logs.textContent = err.message; }
    } }, "Show logs"), logs);
  if (!FINISHED.has(d.state)) follow(id, show, stream);
}

// The deployment's progress through the API's server-sent events; EventSource reconnects by
// itself after a lost connection, and the page says so meanwhile.
let live = null; // the one event stream the page follows
function follow(id, show, indicator) {
  if (live) live.close();
  const source = live = new EventSource(`/api/v1/deployments/${id}/events`);
  indicator.textContent = "Live";
  source.addEventListener("status", (e) => { indicator.textContent = "Live"; show(JSON.parse(e.data)); });
  source.addEventListener("end", async () => {
    source.close();
    const now = await api(`/deployments/${id}`);
    show(now);
    if (FINISHED.has(now.state)) indicator.textContent = "Finished";
    else follow(id, show, indicator); // the stream's own time limit: keep following
  });
  source.addEventListener("error", () => {
    indicator.textContent = "Reconnecting…";
    if (source.readyState === EventSource.CLOSED) retry(id, show, indicator);
  });
  addEventListener("pagehide", () => source.close(), { once: true });
}

// The browser gives up on a stream the server refused (it may have restarted and forgotten the
// session): ask the API, which sends the user through login and back when that is it, and
// follow again shortly after.
function retry(id, show, indicator) {
  setTimeout(async () => {
    try { await api(`/deployments/${id}`); } catch { /* still unreachable: try again */ }
    follow(id, show, indicator);
  }, 2000);
}

// What the deployment applies, rendered again from its chart commit and built image and diffed
// against the cluster; says whether it is byte for byte what its render step rendered.
function manifestReview(id) {
  const out = h("div", { class: "plan", "aria-live": "polite" });
  return h("section", { "aria-label": "Manifests" }, h("h2", {}, "Manifests"),
    h("button", { type: "button", async onclick() {
      out.replaceChildren(h("p", { class: "muted" }, "Rendering…"));
      try {
        const r = await api(`/deployments/${id}/plan`);
        const m = r.manifests;
        const same = r.matchesRendered === true ? "the same bytes the render step rendered (what approvals bind to)"
          : r.matchesRendered === false ? "NOT the bytes the render step rendered: review with care" : "not compared";
        const changes = m.changes || {};
        out.replaceChildren(h("dl", { class: "facts" },
          h("dt", {}, "Chart commit"), h("dd", {}, r.chartCommit || "—"),
          h("dt", {}, "Image"), h("dd", {}, r.image || "—"),
          h("dt", {}, "Rendered"), h("dd", {}, same),
          h("dt", {}, "Objects"), h("dd", {}, m.error || Object.entries(changes).map(([k, v]) => `${v.length} ${k}`).join(", "))),
          m.diff ? h("pre", { tabindex: "0", "aria-label": "Manifest diff" }, m.diff) : null);
      } catch (err) { out.replaceChildren(h("p", { class: "error", role: "alert" }, err.message)); }
    } }, "Show the manifest diff"), out);
}

function approvalView(d) {
  const rows = [];
  if (d.decision) rows.push(h("p", {}, `${d.decision.decision} by ${d.decision.by} ${when(d.decision.at)}`,
    d.decision.comment ? `: “${d.decision.comment}”` : ""));
  for (const a of d.approvals || []) rows.push(h("p", {}, `Approved by ${a.by} ${when(a.at)} (plan ${a.plan.slice(0, 12)}…)`));
  return rows.length ? h("div", {}, rows) : h("p", { class: "muted" }, d.state === "waiting" ? "Waiting for approval." : "No approval recorded.");
}

function deploymentActions(d, roles, me) {
  const buttons = [];
  const path = `/deployments/${d.id}`;
  const refresh = () => route();
  const deploys = roles.has("deployer");
  const approves = roles.has("approver") && d.createdBy !== me;
  if (d.state === "waiting" && approves) {
    buttons.push(action("Approve", `Approve plan ${d.provenance?.plan?.slice(0, 12) || ""}… of ${d.app} ${d.version} in ${d.env}: the rollout is promoted and takes the traffic.`,
      (comment) => api(`${path}/approve`, { method: "POST", body: { comment, plan: d.provenance?.plan || undefined } }), { comment: false, after: refresh }));
    buttons.push(action("Reject", `Reject ${d.app} ${d.version} in ${d.env}: the pipeline stops and the rollout is aborted back to the stable version.`,
      (comment) => api(`${path}/reject`, { method: "POST", body: { comment } }), { comment: true, danger: true, after: refresh }));
  }
  if (d.state === "waiting" && (deploys || approves))
    buttons.push(action("Promote", `Promote ${d.app} ${d.version} in ${d.env} past its pause.`,
      () => api(`${path}/promote`, { method: "POST", body: {} }), { after: refresh }));
  if (!FINISHED.has(d.state) && deploys)
    buttons.push(action("Abort", `Abort ${d.app} ${d.version} in ${d.env}: the pipeline stops and the rollout goes back to the stable version.`,
      () => api(`${path}/abort`, { method: "POST" }), { danger: true, after: refresh }));
  if ((d.state === "failed" || d.state === "aborted") && deploys)
    buttons.push(action("Retry", `Run the failed steps of ${d.app} ${d.version} in ${d.env} again.`,
      () => api(`${path}/retry`, { method: "POST" }), { after: refresh }));
  return buttons;
}

async function approvalsPage() {
  const [waiting, apps, me] = await Promise.all([api("/deployments?state=waiting&limit=200"),
    api("/apps"), whoami()]);
  const projectOf = new Map(apps.items.map((a) => [a.name, a.project]));
  const mine = [];
  for (const d of waiting.items)
    if (d.createdBy !== me && (await rolesOf(projectOf.get(d.app))).has("approver")) mine.push(d);
  render("Approvals", mine.length
    ? h("div", {}, h("p", {}, `${mine.length} deployment(s) wait for you.`), deploymentTable(mine))
    : h("p", {}, "Nothing waits for your approval."));
}

async function auditPage() {
  const params = new URLSearchParams(location.search);
  const field = (name, label, type = "text") => h("label", { for: `audit-${name}` }, label,
    h("input", { id: `audit-${name}`, name, type, value: params.get(name) || "" }));
  const form = h("form", { class: "inline", method: "get", action: "/ui/audit", "aria-label": "Filter the audit log" },
    field("app", "Application"), field("actor", "User"), field("action", "Action"),
    field("since", "Since", "datetime-local"), field("until", "Until", "datetime-local"),
    h("button", { type: "submit" }, "Filter"));
  const iso = (v) => (v ? new Date(v).toISOString() : "");
  const page = await api(`/audit?${q({ app: params.get("app"), actor: params.get("actor"),
    action: params.get("action"), since: iso(params.get("since")), until: iso(params.get("until")),
    limit: 200 })}`);
  const items = page.items;
  render("Audit", form, h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ["When", "User", "Action", "Application", "Outcome", "Detail"]
      .map((c, i) => h("th", { scope: "col", class: i === 5 ? "wide" : "" }, c)))),
    h("tbody", {}, items.map((e) => h("tr", {},
      h("td", {}, when(e.at)), h("td", {}, e.actor), h("td", {}, e.action),
      h("td", {}, [e.app, e.env].filter(Boolean).join(" / ") || "—"),
      h("td", {}, badge(e.outcome)), h("td", { class: "wide" }, e.detail)))))));
}

// -- routing --------------------------------------------------------------------------------

let me = null;
async function whoami() {
  if (me === null) {
    const answer = await fetch("/ui/session", { credentials: "same-origin" });
    if (answer.status === 401) return login();
    me = (await answer.json()).user;
    document.getElementById("user").textContent = me;
  }
  return me;
}

const ROUTES = [
  [/^\/ui\/?$/, appsPage],
  [/^\/ui\/apps\/([a-z0-9-]+)$/, appPage],
  [/^\/ui\/deployments\/([A-Za-z0-9-]+)$/, deploymentPage],
  [/^\/ui\/approvals$/, approvalsPage],
  [/^\/ui\/audit$/, auditPage],
];

async function route() {
  if (live) live.close();
  roleCache.clear();
  await whoami();
  for (const [pattern, page] of ROUTES) {
    const found = location.pathname.match(pattern);
    if (found) {
      try { await page(...found.slice(1)); } catch (err) {
        render("Something went wrong", h("p", { class: "error", role: "alert" }, err.message));
      }
      return;
    }
  }
  render("Not found", h("p", {}, "No such page. "), link("/ui/", "Applications"));
}

route();
