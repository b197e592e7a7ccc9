/* The call log: the calls API filtered by the form (kept in the page's address), newest first, refreshed. */
"use strict";

const PAGE = 50;
const form = document.getElementById("filters");
const params = new URLSearchParams(location.search);
let shown = PAGE;

for (const [name, value] of params) if (form.elements[name]) form.elements[name].value = value;

function query(limit) {
  const q = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (value) q.set(name, value);
  if (q.has("date_from") || q.has("date_to")) q.set("tz", VB.zone);
  q.set("limit", limit);
  return q;
}

function row(call) {
  const link = `${VB.prefix}/calls/${encodeURIComponent(call.call_id)}`;
  return VB.el(
    "tr",
    {"data-call": call.call_id, "data-state": call.state},
    VB.el("td", {}, VB.el("a", {href: link}, VB.time(call.started_at))),
    VB.el("td", {}, VB.t(`calls.${call.direction}`)),
    VB.el("td", {}, call.campaign_id ? VB.el("a", {href: `${VB.prefix}/campaigns/${call.campaign_id}`}, String(call.campaign_id)) : "—"),
    VB.el("td", {}, call.script || "—"),
    VB.el("td", {}, call.caller || "—"),
    VB.el("td", {}, call.called || "—"),
    VB.el("td", {}, call.state),
    VB.el("td", {class: "num"}, VB.seconds(call.talk_seconds)),
    VB.el("td", {}, call.outcome || "—"),
  );
}

async function load() {
  const calls = await VB.api(`/calls?${query(shown)}`);
  const body = document.querySelector("#calls tbody");
  body.replaceChildren(...(calls.length ? calls.map(row) : [VB.el("tr", {}, VB.el("td", {colspan: 9}, VB.t("common.none")))]));
  document.getElementById("more").hidden = calls.length < shown;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = query(shown);
  q.delete("limit");
  q.delete("tz");
  history.replaceState(null, "", `?${q}`);
  load().catch(VB.showProblem);
});
document.getElementById("more").addEventListener("click", () => {
  shown += PAGE;
  load().catch(VB.showProblem);
});

VB.poll(load, 5);
