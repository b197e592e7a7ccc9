/* The campaigns list: progress of every campaign from the metrics API, refreshed every 2 s, with state controls. */
"use strict";

async function loadCampaigns() {
  const [campaigns, dialer] = await Promise.all([VB.api("/campaigns"), VB.api("/dialer")]);
  const paused = document.getElementById("dialer-paused");
  paused.hidden = !dialer.paused;
  paused.textContent = dialer.paused ? VB.t(`dialer.paused.${dialer.paused}`) : "";
  const metrics = await Promise.all(campaigns.map((campaign) => VB.campaignMetrics(campaign.id)));
  const body = document.querySelector("#campaigns tbody");
  const rows = campaigns.map((campaign, i) => {
    const p = metrics[i].progress;
    const share = p.contacts ? Math.round((100 * (p.contacts - p.remaining)) / p.contacts) : 0;
    const bar = VB.el("div", {class: "bar", title: `${share} %`}, VB.el("span", {style: `width:${share}%`}));
    return VB.el(
      "tr",
      {"data-campaign": campaign.id},
      VB.el("td", {}, VB.el("a", {href: `${VB.prefix}/campaigns/${campaign.id}`}, campaign.name)),
      VB.el("td", {}, campaign.script),
      VB.el("td", {}, VB.el("span", {class: `state ${campaign.state}`, "data-state": campaign.state}, VB.stateLabel(campaign.state))),
      VB.el("td", {class: "num contacts"}, VB.number(p.contacts)),
      VB.el("td", {class: "num dialled"}, VB.number(p.dialled)),
      VB.el("td", {class: "num reached"}, VB.number(p.reached)),
      VB.el("td", {class: "num converted"}, VB.number(p.converted)),
      VB.el("td", {class: "num remaining"}, VB.number(p.remaining)),
      VB.el("td", {}, bar),
      VB.el("td", {}, VB.stateButtons(campaign, loadCampaigns)),
    );
  });
  body.replaceChildren(...(rows.length ? rows : [VB.el("tr", {}, VB.el("td", {colspan: 10}, VB.t("common.none")))]));
}

VB.poll(loadCampaigns, 2);
