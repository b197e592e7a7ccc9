/* The campaign wizard: one form in steps; every "Next" saves the whole form over the campaign's draft (created
   at the first step), the server's errors are shown at their fields; the test call's transcript is polled. */
"use strict";

const setup = JSON.parse(document.getElementById("wizard-setup").textContent);
const $ = (id) => document.getElementById(id);
const form = $("wizard");
const scripts = Object.fromEntries(setup.scripts.map((s) => [s.id, s]));
let campaignId = setup.form?.id ?? null;
let step = setup.steps.indexOf(setup.step);
let variables = {...(setup.form?.variables ?? {})};

/* A dashboard route (not /api/v1) with the session cookie and the CSRF header; answers {ok, status, body}. */
async function send(path, method, body) {
  const response = await fetch(VB.prefix + path, {
    method, credentials: "same-origin",
    headers: {"Content-Type": "application/json", Accept: "application/json", [VB.csrfHeader]: "1"},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  return {ok: response.ok, status: response.status, body: data};
}

/* -- filling the form ------------------------------------------------------------------------------------- */

function hours(prefix, value) {
  $(`${prefix}-start`).value = value ? value.start.slice(0, 5) : "";
  $(`${prefix}-end`).value = value ? value.end.slice(0, 5) : "";
}

function fillRules(rules) {
  $("preset").value = rules.preset;
  hours("working", rules.working_hours);
  $("rest-days").checked = rules.rest_day_hours !== null;
  hours("rest", rules.rest_day_hours ?? setup.defaults.rest_day_hours);
  for (const box of form.querySelectorAll('input[name="weekday"]')) box.checked = rules.weekdays.includes(Number(box.value));
  $("holidays").value = rules.holidays_country ?? "";
  $("max-attempts").value = rules.max_attempts;
  $("max-concurrent").value = rules.max_concurrent;
  $("pacing").value = rules.pacing_cps;
  $("agent-pacing").checked = Boolean(rules.agent_pacing);
  $("agent-pacing-queue").value = rules.agent_pacing?.queue ?? "";
  for (const row of form.querySelectorAll("tr[data-reason]")) {
    const minutes = rules.retry_minutes[row.dataset.reason];
    row.querySelector(".retry-on").checked = minutes !== undefined;
    row.querySelector(".retry-minutes").value = minutes ?? setup.defaults.retry_minutes[row.dataset.reason];
  }
  presetHint();
}

function presetHint() {
  for (const preset of ["general", "debt_230fz"]) $(`preset-hint-${preset}`).hidden = $("preset").value !== preset;
}

$("preset").addEventListener("change", () => {
  const debt = $("preset").value === "debt_230fz";
  hours("working", debt ? setup.debt.working_hours : setup.defaults.working_hours);
  hours("rest", debt ? setup.debt.rest_day_hours : setup.defaults.rest_day_hours);
  $("rest-days").checked = true;
  presetHint();
});

function showScript() {
  const script = scripts[$("script").value];
  $("script-facts").hidden = !script;
  const language = $("language");
  const chosen = language.value || setup.form?.language || VB.lang;
  language.replaceChildren(...(script?.languages ?? ["ru", "en"]).map((code) => VB.el("option", {value: code}, VB.t(`wizard.lang.${code}`))));
  if ([...language.options].some((o) => o.value === chosen)) language.value = chosen;
  if (!script) return;
  $("script-languages").textContent = script.languages.map((code) => VB.t(`wizard.lang.${code}`)).join(", ");
  const rows = script.variables.map((v) => VB.el("tr", {},
    VB.el("td", {}, VB.el("code", {}, v.name)),
    VB.el("td", {}, VB.t(`wizard.type.${v.type}`) + (v.optional ? ` (${VB.t("wizard.optional")})` : "")),
    VB.el("td", {}, VB.el("input", {class: "variable", "data-variable": v.name, "data-field": `variables.${v.name}`, value: variables[v.name] ?? ""}))));
  $("variables").querySelector("tbody").replaceChildren(...rows);
  if (!$("name").value) $("name").value = `${script.title[VB.lang] ?? script.title.ru ?? script.id} ${new Date().toLocaleDateString(VB.lang)}`;
}
$("script").addEventListener("change", showScript);

function collect() {
  for (const input of form.querySelectorAll("input.variable")) variables[input.dataset.variable] = input.value;
  const script = scripts[$("script").value];
  const known = new Set((script?.variables ?? []).map((v) => v.name));
  const time = (id) => $(id).value;
  const retry = {};
  for (const row of form.querySelectorAll("tr[data-reason]")) {
    if (row.querySelector(".retry-on").checked) retry[row.dataset.reason] = Number(row.querySelector(".retry-minutes").value);
  }
  return {
    name: $("name").value,
    script: $("script").value,
    language: $("language").value || "ru",
    purpose: $("purpose").value,
    variables: Object.fromEntries(Object.entries(variables).filter(([name]) => known.has(name))),
    rules: {
      preset: $("preset").value,
      working_hours: {start: time("working-start"), end: time("working-end")},
      rest_day_hours: $("rest-days").checked ? {start: time("rest-start"), end: time("rest-end")} : null,
      weekdays: [...form.querySelectorAll('input[name="weekday"]:checked')].map((box) => Number(box.value)),
      holidays_country: $("holidays").value,
      max_attempts: Number($("max-attempts").value),
      retry_minutes: retry,
      max_concurrent: Number($("max-concurrent").value),
      pacing_cps: Number($("pacing").value),
      agent_pacing: $("agent-pacing").checked ? {queue: $("agent-pacing-queue").value || null} : null,
    },
    start_date: $("start-date").value || null,
    end_date: $("end-date").value || null,
    dates_zone: $("dates-zone").value,
  };
}

/* -- errors ----------------------------------------------------------------------------------------------- */

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) node.remove();
  for (const node of form.querySelectorAll(".invalid")) node.classList.remove("invalid");
  $("form-errors").hidden = true;
  $("form-errors").replaceChildren();
}

/* Each error at the element whose data-field is the longest prefix of its field; the first one's step shown. */
function showErrors(errors) {
  clearErrors();
  let first = null;
  for (const error of errors) {
    let target = null;
    for (const node of form.querySelectorAll("[data-field]")) {
      const name = node.dataset.field;
      if ((error.field === name || error.field.startsWith(name + ".")) && (!target || name.length > target.dataset.field.length)) target = node;
    }
    if (target) {
      target.classList.add("invalid");
      target.after(VB.el("span", {class: "field-error", "data-error-for": error.field}, error.message));
      const fieldset = target.closest("fieldset");
      if (first === null && fieldset) first = setup.steps.indexOf(fieldset.dataset.step);
    } else {
      $("form-errors").append(VB.el("li", {"data-error-for": error.field}, error.message));
      $("form-errors").hidden = false;
    }
  }
  if (first !== null && first >= 0 && first < step) go(first);
}

/* -- steps -------------------------------------------------------------------------------------------------- */

function go(index) {
  step = index;
  for (const fieldset of form.querySelectorAll("fieldset")) fieldset.hidden = fieldset.dataset.step !== setup.steps[step];
  for (const [n, item] of [...$("steps").children].entries()) {
    item.classList.toggle("on", n === step);
    item.classList.toggle("done", n < step);
  }
  $("back").disabled = step === 0;
  $("next").hidden = step === setup.steps.length - 1;
  if (campaignId !== null) history.replaceState(null, "", `${VB.prefix}/campaigns/${campaignId}/wizard?step=${setup.steps[step]}`);
  const name = setup.steps[step];
  if (name === "contacts") loadContacts();
  if (name === "test") showTestVariables();
  if (name === "launch") summary();
}

async function save() {
  const path = campaignId === null ? "/wizard/drafts" : `/wizard/drafts/${campaignId}`;
  const answer = await send(path, campaignId === null ? "POST" : "PUT", collect());
  if (!answer.ok) {
    showErrors(answer.body?.errors ?? [{field: "", message: `${VB.t("common.error")} ${answer.status}`}]);
    return false;
  }
  clearErrors();
  campaignId = answer.body.id;
  $("saved").textContent = `${VB.t("wizard.saved")} ${new Date(answer.body.saved_at).toLocaleTimeString(VB.lang)}`;
  $("saved").dataset.campaign = campaignId;
  return true;
}

$("next").addEventListener("click", async () => {
  $("next").disabled = true;
  try {
    if (await save()) go(step + 1);
  } finally {
    $("next").disabled = false;
  }
});
$("back").addEventListener("click", () => go(Math.max(0, step - 1)));

async function loadContacts() {
  $("upload-link").href = `${VB.prefix}/campaigns/${campaignId}/contacts?back=wizard`;
  const campaign = await VB.api(`/campaigns/${campaignId}`);
  $("contacts-count").textContent = VB.number(Object.values(campaign.contacts).reduce((a, b) => a + b, 0));
}

/* -- the test call -------------------------------------------------------------------------------------------- */

function showTestVariables() {
  const script = scripts[$("script").value];
  const rows = (script?.variables ?? []).map((v) => VB.el("tr", {},
    VB.el("td", {}, VB.el("code", {}, v.name)),
    VB.el("td", {}, VB.el("input", {class: "test-variable", "data-variable": v.name, value: variables[v.name] ?? ""}))));
  $("test-variables").querySelector("tbody").replaceChildren(...rows);
}

function showLines(lines) {
  $("test-transcript").replaceChildren(...lines.map((line) => VB.el("li", {class: line.speaker},
    VB.el("span", {class: "who"}, VB.t(`wizard.speaker.${line.speaker}`)),
    VB.el("span", {class: "text"}, line.text),
    VB.el("span", {class: "hint"}, line.intent ?? ""))));
}

$("call-me").addEventListener("click", async () => {
  const testVariables = Object.fromEntries([...form.querySelectorAll("input.test-variable")].map((i) => [i.dataset.variable, i.value]));
  $("test-error").hidden = true;
  $("test-call-link").hidden = true;
  $("test-outcome").textContent = "";
  showLines([]);
  const answer = await send(`/wizard/drafts/${campaignId}/test-calls`, "POST", {phone: $("test-phone").value, variables: testVariables});
  if (!answer.ok) {
    $("test-error").textContent = answer.body?.message ?? `${VB.t("common.error")} ${answer.status}`;
    $("test-error").hidden = false;
    return;
  }
  $("call-me").disabled = true;
  const callId = answer.body.call_id;
  const poll = async () => {
    const state = await send(`/wizard/test-calls/${callId}`, "GET");
    if (state.ok) {
      const s = state.body;
      $("test-state").textContent = VB.t(`wizard.call_state.${s.state}`);
      $("test-state").dataset.state = s.state;
      showLines(s.lines);
      if (s.state === "ended") {
        $("test-outcome").textContent = s.outcome ? `${VB.t("wizard.outcome")}: ${s.outcome}` : "";
        $("test-outcome").dataset.outcome = s.outcome;
        if (s.error) { $("test-error").textContent = s.error; $("test-error").hidden = false; }
        $("test-call-link").href = s.call || "#";
        $("test-call-link").hidden = !s.call;
        $("call-me").disabled = false;
        return;
      }
    }
    setTimeout(poll, 1000);
  };
  poll();
});

/* -- launch ------------------------------------------------------------------------------------------------- */

async function summary() {
  const campaign = await VB.api(`/campaigns/${campaignId}`);
  const rules = campaign.rules;
  const count = Object.values(campaign.contacts).reduce((a, b) => a + b, 0);
  const rows = [
    ["wizard.name", campaign.name],
    ["wizard.script", `${campaign.script} (${campaign.language})`],
    ["wizard.working_hours", `${rules.working_hours.start.slice(0, 5)}–${rules.working_hours.end.slice(0, 5)}`],
    ["wizard.rest_days", rules.rest_day_hours ? `${rules.rest_day_hours.start.slice(0, 5)}–${rules.rest_day_hours.end.slice(0, 5)}` : VB.t("wizard.no_calls")],
    ["wizard.max_concurrent", rules.max_concurrent],
    ["pacing.wizard.summary", rules.agent_pacing ? rules.agent_pacing.queue ?? VB.t("pacing.wizard.script_queue") : VB.t("pacing.wizard.off")],
    ["wizard.contacts_count", VB.number(count)],
  ];
  $("summary").replaceChildren(...rows.map(([key, value]) => VB.el("tr", {}, VB.el("th", {}, VB.t(key)), VB.el("td", {}, String(value)))));
  $("launch").disabled = count === 0 || VB.scope === "read";
}

$("launch").addEventListener("click", async () => {
  $("launch").disabled = true;
  try {
    await VB.api(`/campaigns/${campaignId}/start`, {method: "POST"});
    window.location = `${VB.prefix}/campaigns/${campaignId}`;
  } catch (error) {
    VB.showProblem(error);
    $("launch").disabled = false;
  }
});

/* -- start ----------------------------------------------------------------------------------------------------- */

if (setup.form) {
  $("script").value = setup.form.script;
  $("name").value = setup.form.name;
  $("purpose").value = setup.form.purpose;
  $("start-date").value = setup.form.start_date;
  $("end-date").value = setup.form.end_date;
  $("contacts-count").textContent = VB.number(setup.form.contacts);
}
showScript();
fillRules(setup.form?.rules ?? setup.defaults);
if (campaignId === null) go(0);
else go(Math.max(step, 1));
