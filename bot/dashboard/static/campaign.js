/* One campaign: live progress and state controls, metric cards, calls over time, outcomes, contact states. */
"use strict";

const campaignId = document.getElementById("campaign").dataset.campaign;
let group = "hour";

const METRICS = [
  ["metric.attempts", "calls", VB.number],
  ["metric.answer_rate", "answer_rate", VB.percent],
  ["metric.machine_rate", "machine_rate", VB.percent],
  ["metric.aht", "aht_seconds", VB.seconds],
  ["metric.conversion_rate", "conversion_rate", VB.percent],
  ["metric.transfer_rate", "transfer_rate", VB.percent],
  ["metric.dnc_rate", "do_not_call_rate", VB.percent],
];

function bucketLabel(iso) {
  const at = new Date(iso);
  return group === "day"
    ? at.toLocaleDateString(VB.lang, {day: "numeric", month: "short"})
    : at.toLocaleString(VB.lang, {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
}

async function loadMetrics() {
  let total, rows;
  try {
    [[total], rows] = await Promise.all([VB.summary(campaignId), VB.summary(campaignId, group)]);
  } catch (error) {
    document.getElementById("no-metrics").hidden = false;
    return null;
  }
  document.getElementById("no-metrics").hidden = true;
  document.getElementById("metrics").replaceChildren(
    ...METRICS.map(([label, field, format]) =>
      VB.el("div", {class: "card figure"}, VB.el("div", {class: "label"}, VB.t(label)), VB.el("div", {class: "value", "data-metric": field}, format(total[field]))),
    ),
  );
  VBCharts.barChart(document.getElementById("timeline"), rows.map((row) => bucketLabel(row.bucket)), [
    {name: VB.t("campaigns.dialled"), values: rows.map((row) => row.calls)},
    {name: VB.t("campaigns.reached"), values: rows.map((row) => row.reached)},
    {name: VB.t("campaigns.converted"), values: rows.map((row) => row.converted)},
  ]);
  VBCharts.distributionChart(document.getElementById("outcomes"), total.outcomes);
  return total;
}

async function load() {
  const [campaign, total] = await Promise.all([VB.api(`/campaigns/${campaignId}`), loadMetrics()]);
  const state = document.getElementById("state");
  state.textContent = VB.stateLabel(campaign.state);
  state.className = `state ${campaign.state}`;
  state.dataset.state = campaign.state;
  document.getElementById("controls").replaceChildren(VB.stateButtons(campaign, load));
  const c = campaign.contacts;
  const figures = {contacts: VB.total(c), dialled: total?.calls, reached: total?.reached, converted: total?.converted, remaining: VB.remaining(c)};
  for (const [key, value] of Object.entries(figures)) document.getElementById(`p-${key}`).textContent = VB.number(value);
  VBCharts.distributionChart(document.getElementById("contact-states"), c);
}

for (const button of document.querySelectorAll(".toggle button")) {
  button.addEventListener("click", () => {
    group = button.dataset.group;
    for (const other of document.querySelectorAll(".toggle button")) other.classList.toggle("on", other === button);
    load().catch(VB.showProblem);
  });
}

VB.poll(load, 3);
