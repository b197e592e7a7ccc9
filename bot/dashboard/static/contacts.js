/* Contact or do-not-call list upload: send the file, show its first rows, map columns, check, import with
   progress. */
"use strict";

(() => {
  const setup = JSON.parse(document.getElementById("upload-setup").textContent);
  const numbersOnly = setup.kind === "dnc";
  const base = `${VB.prefix}/campaigns/${setup.campaign}/${setup.kind}/uploads`;
  const $ = (id) => document.getElementById(id);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => VB.number(values[key]));
  const variables = [...setup.required, ...setup.optional].filter((name) => name !== "name");
  let upload = null;

  /* A dashboard request; a problem answer ({message}) becomes an Error with the server's words. */
  const call = async (path, options = {}) => {
    const headers = {Accept: "application/json", [VB.csrfHeader]: "1", ...(options.headers ?? {})};
    const response = await fetch(path, {credentials: "same-origin", ...options, headers});
    if (response.status === 401) {
      window.location = `${VB.prefix}/login?next=${encodeURIComponent(location.pathname)}`;
      throw new Error("session expired");
    }
    const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
    if (!response.ok) throw new Error(body?.message ?? (typeof body?.detail === "string" ? body.detail : response.statusText));
    return body;
  };

  const showProblem = (error) => {
    $("problem").hidden = !error;
    $("problem").textContent = error ? error.message : "";
  };

  // the contact fields a column can be (the consent columns: docs/compliance.md)
  const FIELDS = ["phone", "name", "timezone", "region", "consent_at", "consent_channel", "consent_source"];

  const fieldOptions = () => numbersOnly ? [["", VB.t("upload.field.ignore")], ["phone", VB.t("upload.field.phone")]] : [
    ["", VB.t("upload.field.ignore")],
    ...FIELDS.map((field) => [field, VB.t(`upload.field.${field}`)]),
    ...variables.map((name) => [`var:${name}`, `${VB.t("upload.field.variable")}: ${name}`]),
    ["own", VB.t("upload.field.own")],
  ];

  const chosenFor = (column, mapping) => {
    for (const field of FIELDS) if (mapping[field] === column) return field;
    for (const [name, header] of Object.entries(mapping.variables ?? {})) {
      if (header === column) return variables.includes(name) ? `var:${name}` : "own";
    }
    return "";
  };

  const showUpload = (answer) => {
    const preview = $("preview");
    preview.replaceChildren(
      VB.el("thead", {}, VB.el("tr", {}, ...answer.columns.map((column) => VB.el("th", {}, column)))),
      VB.el("tbody", {}, ...answer.preview.map((row) => VB.el("tr", {}, ...row.map((cell) => VB.el("td", {}, cell))))),
    );
    $("row-count").textContent = VB.number(answer.rows);
    $("mapping").tBodies[0].replaceChildren(
      ...answer.columns.map((column, index) => {
        const select = VB.el("select", {"data-column": column, id: `map-${index}`, onchange: () => ($("report-section").hidden = true)},
          ...fieldOptions().map(([value, label]) => VB.el("option", {value}, label)));
        select.value = chosenFor(column, answer.mapping);
        return VB.el("tr", {}, VB.el("td", {}, VB.el("label", {for: `map-${index}`}, column)), VB.el("td", {}, select));
      }),
    );
    $("preview-section").hidden = false;
    $("report-section").hidden = true;
  };

  const mapping = () => {
    const chosen = {...Object.fromEntries(FIELDS.map((field) => [field, ""])), variables: {}};
    for (const select of $("mapping").querySelectorAll("select")) {
      const column = select.dataset.column;
      if (select.value.startsWith("var:")) chosen.variables[select.value.slice(4)] = column;
      else if (select.value === "own") chosen.variables[column] = column;
      else if (select.value) chosen[select.value] = column;
    }
    if (!chosen.phone) throw new Error(VB.t("upload.need_phone"));
    return numbersOnly ? {phone: chosen.phone, everywhere: $("everywhere").checked} : chosen;
  };

  const showReport = (report) => {
    $("r-rows").textContent = VB.number(report.rows);
    $("r-imported").textContent = VB.number(report.imported);
    $("r-skipped").textContent = VB.number(report.skipped);
    $("issue-counts").replaceChildren(
      ...report.counts.map((item) => VB.el("li", {"data-kind": item.kind}, `${item.label}: ${VB.number(item.count)}`)),
    );
    const rows = report.issues.map((issue) =>
      VB.el("tr", {"data-kind": issue.kind, "data-row": issue.row},
        VB.el("td", {class: "num"}, String(issue.row)),
        VB.el("td", {}, report.counts.find((item) => item.kind === issue.kind)?.label ?? issue.kind),
        VB.el("td", {}, issue.reason)));
    $("issues").tBodies[0].replaceChildren(...(rows.length ? rows : [VB.el("tr", {}, VB.el("td", {colspan: "3"}, VB.t("upload.no_issues")))]));
    $("more-issues").hidden = !report.more;
    $("more-issues").textContent = fill(VB.t("upload.more"), {n: report.more});
    $("error-report").href = `${base}/${upload.token}/errors.csv`;
    $("error-report").hidden = !report.issues.length;
    $("report-section").hidden = false;
    $("import").disabled = report.imported === 0;
  };

  const follow = async () => {
    const state = await call(`${base}/${upload.token}`, {method: "GET"});
    $("progress-bar").max = Math.max(state.total, 1);
    $("progress-bar").value = state.done;
    $("progress-text").textContent = state.total ? `${VB.number(state.done)} / ${VB.number(state.total)}` : "";
    if (state.state === "running") return setTimeout(() => follow().catch(showProblem), 500);
    $("import-progress").hidden = true;
    if (state.state === "failed") return showProblem(new Error(state.message));
    $("import-done").textContent = fill(VB.t(numbersOnly ? "upload.dnc_done" : "upload.done"), state.result);
    $("import-done").hidden = false;
    $("to-campaign").hidden = false;
  };

  if (numbersOnly) $("everywhere").addEventListener("change", () => ($("report-section").hidden = true));

  $("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showProblem(null);
    const file = $("file").files[0];
    if (!file) return;
    if (file.size > setup.maxBytes) {
      return showProblem(new Error(VB.t("upload.problem.too_big").replace("{mb}", VB.number(setup.maxBytes / 1048576))));
    }
    $("send").disabled = true;
    $("send-state").textContent = VB.t("upload.sending");
    try {
      upload = await call(`${base}?filename=${encodeURIComponent(file.name)}`, {
        method: "POST", body: file, headers: {"Content-Type": "application/octet-stream"},
      });
      showUpload(upload);
      if (upload.notice) showProblem(new Error(upload.notice));
    } catch (error) {
      showProblem(error);
      $("preview-section").hidden = $("report-section").hidden = true;
    } finally {
      $("send").disabled = false;
      $("send-state").textContent = "";
    }
  });

  $("check").addEventListener("click", async () => {
    showProblem(null);
    $("check-state").textContent = VB.t("upload.checking");
    try {
      showReport(await call(`${base}/${upload.token}/check`, {
        method: "POST", body: JSON.stringify(mapping()), headers: {"Content-Type": "application/json"},
      }));
    } catch (error) {
      showProblem(error);
    } finally {
      $("check-state").textContent = "";
    }
  });

  $("import").addEventListener("click", async () => {
    showProblem(null);
    $("import").disabled = true;
    $("import-progress").hidden = false;
    $("progress-text").textContent = VB.t("upload.importing");
    try {
      await call(`${base}/${upload.token}/import`, {
        method: "POST", body: JSON.stringify(mapping()), headers: {"Content-Type": "application/json"},
      });
      await follow();
    } catch (error) {
      showProblem(error);
      $("import-progress").hidden = true;
    }
  });
})();
