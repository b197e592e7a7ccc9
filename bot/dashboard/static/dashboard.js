/* Shared helpers of the dashboard pages: UI strings, calls to the JSON API with the session cookie, formatting. */
"use strict";

const VB = window.VOICEBOT;
VB.strings = JSON.parse(document.getElementById("strings").textContent);
VB.t = (key) => VB.strings[key] ?? key;

/* GET or POST the JSON API; the session cookie goes along, and writes carry the dashboard's CSRF header. */
VB.api = async (path, options = {}) => {
  const headers = {Accept: "application/json"};
  if (options.method && options.method !== "GET") headers[VB.csrfHeader] = "1";
  const response = await fetch("/api/v1" + path, {credentials: "same-origin", ...options, headers});
  if (response.status === 401) {
    window.location = `${VB.prefix}/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new Error("session expired");
  }
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const detail = body?.detail;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail ?? response.statusText));
  }
  return body;
};

VB.el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};

VB.number = (value) => (value === null || value === undefined ? "—" : Number(value).toLocaleString(VB.lang));
VB.percent = (value) => (value === null || value === undefined ? "—" : `${Number(value).toLocaleString(VB.lang)} %`);
VB.seconds = (value) => (value === null || value === undefined ? "—" : `${Number(value).toFixed(1)} ${VB.t("call.seconds")}`);
VB.time = (iso) => (iso ? new Date(iso).toLocaleString(VB.lang) : "—");
VB.stateLabel = (state) => VB.t(`state.${state}`);

VB.showProblem = (error) => {
  const box = document.getElementById("problem");
  if (!box) return;
  box.hidden = !error;
  box.textContent = error ? `${VB.t("common.error")} ${error.message}` : "";
};

/* Call `load` now and every `seconds`, never overlapping; the page shows when it last succeeded. */
VB.poll = (load, seconds) => {
  const run = async () => {
    try {
      await load();
      VB.showProblem(null);
      const stamp = document.getElementById("updated");
      if (stamp) stamp.textContent = new Date().toLocaleTimeString(VB.lang);
    } catch (error) {
      VB.showProblem(error);
    }
    setTimeout(run, seconds * 1000);
  };
  run();
};

VB.zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const tz = () => encodeURIComponent(VB.zone);
/* The metrics API: summary rows of a campaign's calls (one total row, or one per local day or hour) and the
   campaign's own metrics (progress from the dialler's tables, calls, survey, latency). */
VB.summary = (campaignId, group = "none") => VB.api(`/metrics?campaign_id=${campaignId}&group=${group}&tz=${tz()}`);
VB.campaignMetrics = (campaignId) => VB.api(`/metrics/campaigns/${campaignId}?tz=${tz()}`);

VB.ACTIONS = {draft: ["start", "stop"], running: ["pause", "stop"], paused: ["resume", "stop"]};

/* Buttons for a campaign's state changes; `done` runs after a change succeeded. */
VB.stateButtons = (campaign, done) => {
  const box = VB.el("span", {class: "actions"});
  for (const action of VB.ACTIONS[campaign.state] ?? []) {
    const button = VB.el("button", {type: "button", class: `action ${action}`, "data-action": action}, VB.t(`campaigns.${action}`));
    if (VB.scope === "read") button.disabled = true;
    button.addEventListener("click", async () => {
      if (action === "stop" && !window.confirm(VB.t("campaigns.stop_confirm"))) return;
      button.disabled = true;
      try {
        await VB.api(`/campaigns/${campaign.id}/${action}`, {method: "POST"});
        await done();
      } catch (error) {
        window.alert(`${VB.t("campaigns.action_failed")} ${error.message}`);
        button.disabled = false;
      }
    });
    box.append(button);
  }
  return box;
};
