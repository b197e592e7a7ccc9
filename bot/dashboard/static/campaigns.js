/* The campaigns list: progress of every campaign, refreshed every 2 s, with state controls. */
"use strict";

async function progressOf(campaign) {
  try {
    const [total] = await VB.summary(campaign.id);
    return total;
  } catch (error) {
    return null; // the metrics API is not there (yet): the contact figures still show
  }
}

async function loadCampaigns() {
  const campaigns = await VB.api("/campaigns");
  const progress = await Promise.all(campaigns.map(progressOf));
  const body = document.querySelector("#campaigns tbody");
  const rows = campaigns.map((campaign, i) => {
    const c = campaign.contacts, total = VB.total(c), left = VB.remaining(c), p = progress[i];
    const share = total ? Math.round((100 * (total - left)) / total) : 0;
    const bar = VB.el("div", {class: "bar", title: `${share} %`}, VB.el("span", {style: `width:${share}%`}));
    return VB.el(
      "tr",
      {"data-campaign": campaign.id},
      VB.el("td", {}, VB.el("a", {href: `${VB.prefix}/campaigns/${campaign.id}`}, campaign.name)),
      VB.el("td", {}, campaign.script),
      VB.el("td", {}, VB.el("span", {class: `state ${campaign.state}`, "data-state": campaign.state}, VB.stateLabel(campaign.state))),
      VB.el("td", {class: "num"}, VB.number(total)),
      VB.el("td", {class: "num dialled"}, VB.number(p?.calls)),
      VB.el("td", {class: "num reached"}, VB.number(p?.reached)),
      VB.el("td", {class: "num converted"}, VB.number(p?.converted)),
      VB.el("td", {class: "num remaining"}, VB.number(left)),
      VB.el("td", {}, bar),
      VB.el("td", {}, VB.stateButtons(campaign, loadCampaigns)),
    );
  });
  body.replaceChildren(...(rows.length ? rows : [VB.el("tr", {}, VB.el("td", {colspan: 10}, VB.t("common.none")))]));
}

VB.poll(loadCampaigns, 2);
