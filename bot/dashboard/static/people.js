/* The People page: users and API keys made, disabled, enabled, removed or revoked; each answer reloads the page,
   a new key's secret is shown once first. */
"use strict";

const people = async (path, method, body) => {
  const headers = {Accept: "application/json", [VB.csrfHeader]: "1"};
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(`${VB.prefix}/people${path}`, {
    method, credentials: "same-origin", headers, body: body ? JSON.stringify(body) : undefined,
  });
  const answer = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  if (!response.ok) {
    const detail = answer.message ?? answer.detail;
    throw new Error(typeof detail === "string" ? detail : VB.t("people.error.invalid"));
  }
  return answer;
};

const act = (work) => async (event) => {
  event.preventDefault();
  try {
    VB.showProblem(null);
    await work(event);
  } catch (error) {
    VB.showProblem(error);
  }
};

document.getElementById("new-user").addEventListener("submit", act(async () => {
  await people("/users", "POST", {
    name: document.getElementById("user-name").value.trim(),
    password: document.getElementById("user-password").value,
    scope: document.getElementById("user-scope").value,
  });
  location.reload();
}));

document.getElementById("users").addEventListener("click", act(async (event) => {
  const button = event.target.closest("button");
  const row = button?.closest("tr[data-id]");
  if (!row) return;
  if (button.classList.contains("remove")) {
    if (!confirm(VB.t("people.confirm_remove").replace("{name}", row.dataset.user))) return;
    await people(`/users/${row.dataset.id}`, "DELETE");
  } else {
    await people(`/users/${row.dataset.id}/${button.classList.contains("enable") ? "enable" : "disable"}`, "POST");
  }
  location.reload();
}));

document.getElementById("new-key").addEventListener("submit", act(async (event) => {
  const scopes = [...event.target.querySelectorAll("input[name=scopes]:checked")].map((box) => box.value);
  const created = await people("/keys", "POST", {name: document.getElementById("key-name").value.trim(), scopes});
  document.getElementById("secret").textContent = created.key;
  document.getElementById("new-secret").hidden = false;
}));

document.getElementById("secret-done").addEventListener("click", () => location.reload());

document.getElementById("keys").addEventListener("click", act(async (event) => {
  const row = event.target.closest("button.revoke")?.closest("tr[data-key]");
  if (!row) return;
  await people(`/keys/${row.dataset.key}`, "DELETE");
  location.reload();
}));
