/* One campaign: live progress and state controls, metric cards, calls over time, outcomes, contact states. */
"use strict";

const campaignId = document.getElementById("campaign").dataset.campaign;
let group = "hour";

const CARDS = [
  ["metric.attempts", (m) => VB.number(m.calls.calls)],
  ["metric.answer_rate", (m) => VB.percent(m.calls.answer_rate)],
  ["metric.machine_rate", (m) => VB.percent(m.calls.machine_rate)],
  ["metric.aht", (m) => VB.seconds(m.calls.aht_seconds)],
  ["metric.conversion_rate", (m) => VB.percent(m.progress.conversion_rate)],
  ["metric.transfer_rate", (m) => VB.percent(m.calls.transfer_rate)],
  ["metric.dnc_rate", (m) => VB.percent(m.progress.do_not_call_rate)],
  ["metric.latency_p50", (m) => (m.latency.p50_ms === null ? "—" : `${VB.number(Math.round(m.latency.p50_ms))} ms`)],
  ["metric.latency_p95", (m) => (m.latency.p95_ms === null ? "—" : `${VB.number(Math.round(m.latency.p95_ms))} ms`)],
  ["metric.nps", (m) => (m.survey.nps_answers ? `${VB.number(m.survey.nps)} (n=${m.survey.nps_answers})` : "—")],
  ["metric.csat", (m) => (m.survey.csat_answers ? `${VB.percent(m.survey.csat)} (n=${m.survey.csat_answers})` : "—")],
];

function bucketLabel(iso) {
  const at = new Date(iso);
  return group === "day"
    ? at.toLocaleDateString(VB.lang, {day: "numeric", month: "short"})
    : at.toLocaleString(VB.lang, {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
}

/* Why the dialer slows or pauses the campaign for its agents (`GET /campaigns/{id}/pacing`); hidden when it does not. */
function showPacing(pace) {
  const line = document.getElementById("agent-pacing");
  const held = pace.state === "paused" || pace.state === "slowed";
  line.hidden = !held;
  const values = {...pace, rate: VB.percent(Math.round(100 * pace.lead_rate))};
  line.textContent = held ? VB.t(`pacing.${pace.state}`).replace(/\{(\w+)\}/g, (_, name) => values[name]) : "";
}

async function load() {
  const [campaign, metrics, rows, pace] = await Promise.all([
    VB.api(`/campaigns/${campaignId}`),
    VB.campaignMetrics(campaignId),
    VB.summary(campaignId, group),
    VB.api(`/campaigns/${campaignId}/pacing`),
  ]);
  showPacing(pace);
  const state = document.getElementById("state");
  state.textContent = VB.stateLabel(campaign.state);
  state.className = `state ${campaign.state}`;
  state.dataset.state = campaign.state;
  document.getElementById("controls").replaceChildren(VB.stateButtons(campaign, load));
  const p = metrics.progress;
  for (const key of ["contacts", "dialled", "reached", "converted", "remaining"]) {
    document.getElementById(`p-${key}`).textContent = VB.number(p[key]);
  }
  document.getElementById("metrics").replaceChildren(
    ...CARDS.map(([label, value]) => VB.el("div", {class: "card figure"}, VB.el("div", {class: "label"}, VB.t(label)), VB.el("div", {class: "value"}, value(metrics)))),
  );
  VBCharts.barChart(document.getElementById("timeline"), rows.map((row) => bucketLabel(row.bucket)), [
    {name: VB.t("detail.attempts"), values: rows.map((row) => row.calls)},
    {name: VB.t("campaigns.reached"), values: rows.map((row) => row.reached)},
    {name: VB.t("campaigns.converted"), values: rows.map((row) => row.converted)},
  ]);
  VBCharts.distributionChart(document.getElementById("outcomes"), metrics.calls.outcomes);
  const states = Object.fromEntries(Object.entries(p.by_state).map(([name, n]) => [VB.t(`contact.${name}`), n]));
  VBCharts.distributionChart(document.getElementById("contact-states"), states);
}

for (const button of document.querySelectorAll(".toggle button")) {
  button.addEventListener("click", () => {
    group = button.dataset.group;
    for (const other of document.querySelectorAll(".toggle button")) other.classList.toggle("on", other === button);
    load().catch(VB.showProblem);
  });
}

VB.poll(load, 3);
