/* The script studio: live checks under the editor as you type, save with a base version (409: both texts kept),
   history with diff and rollback, a chat with the saved script through the real engine, "listen" on prompts, and
   whether the newest version is live. */
"use strict";

(() => {
  const setup = JSON.parse(document.getElementById("studio-setup").textContent);
  const base = `${VB.prefix}/scripts/${encodeURIComponent(setup.script)}`;
  const $ = (id) => document.getElementById(id);
  const canWrite = VB.scope !== "read";
  let version = setup.number;
  let chatId = "";

  /* A call to the studio's routes; answers {ok, status, body}. */
  const call = async (path, options = {}) => {
    const headers = {Accept: "application/json"};
    if (options.json !== undefined) headers["Content-Type"] = "application/json";
    if (options.method && options.method !== "GET") headers[VB.csrfHeader] = "1";
    const response = await fetch(base + path, {
      credentials: "same-origin",
      method: options.method || "GET",
      headers,
      body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
    });
    if (response.status === 401) {
      window.location = `${VB.prefix}/login?next=${encodeURIComponent(location.pathname)}`;
      throw new Error("session expired");
    }
    const isJson = response.headers.get("content-type")?.includes("json");
    const body = isJson ? await response.json() : await response.blob();
    return {ok: response.ok, status: response.status, body};
  };
  const format = (key, params) => VB.t(key).replace(/\{(\w+)\}/g, (_, name) => params[name] ?? "");

  // -- editor and live checks ---------------------------------------------------------------------------------
  let checkTimer = null;
  let checkSeq = 0;
  const showErrors = (errors) => {
    const list = $("errors");
    list.replaceChildren(...errors.map((e) => VB.el("li", {"data-line": e.line}, e.text)));
    editor.showErrors(errors.filter((e) => e.file === setup.file));
    $("check-state").textContent = errors.length ? `${VB.t("studio.errors")}: ${errors.length}` : VB.t("studio.valid");
  };
  const check = async () => {
    const seq = ++checkSeq;
    const answer = await call("/check", {method: "POST", json: {text: editor.getText()}});
    if (seq !== checkSeq) return; // typed again meanwhile
    if (answer.ok) showErrors(answer.body.errors);
    else VB.showProblem(new Error(answer.body.message || answer.status));
  };
  const editor = window.StudioEditor.create($("editor"), setup.text, () => {
    $("check-state").textContent = VB.t("studio.checking");
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 300);
  });
  check();

  // -- save, conflict -----------------------------------------------------------------------------------------
  let theirs = null;
  const saved = (body) => {
    version = body.number;
    $("version").textContent = version;
    $("save-state").className = "ok";
    $("save-state").textContent = format("studio.saved", {number: version});
    loadHistory();
    loadPrompts();
    showLive(body.live);
  };
  const save = async () => {
    $("save-state").textContent = "";
    const answer = await call("/save", {method: "POST", json: {text: editor.getText(), base: version}});
    if (answer.ok) {
      $("conflict").hidden = true;
      saved(answer.body);
      return;
    }
    $("save-state").className = "error";
    $("save-state").textContent = answer.body.message || String(answer.status);
    if (answer.status === 422) showErrors(answer.body.errors);
    if (answer.status === 409) {
      theirs = answer.body.current;
      $("conflict").hidden = false;
      $("conflict-message").textContent = answer.body.message;
      $("conflict-yours").textContent = answer.body.yours;
    }
  };
  if (canWrite) $("save").addEventListener("click", save);
  $("conflict-take").addEventListener("click", () => {
    if (!theirs) return;
    version = theirs.number;
    $("version").textContent = version;
    editor.setText(theirs.text); // yours stays in the conflict box below until the next save
    loadHistory();
    pollLive();
  });

  // -- going live ---------------------------------------------------------------------------------------------
  let liveTimer = null;
  const showLive = (live) => {
    const box = $("live");
    if (!live) {
      box.textContent = VB.t("studio.live.offline");
      return;
    }
    const params = {
      number: version,
      percent: Math.round((live.progress || 0) * 100),
      seconds: Math.round(live.seconds || 0),
      message: live.message || "",
    };
    box.dataset.state = live.state;
    box.textContent = format(`studio.live.${live.state}`, params);
    clearTimeout(liveTimer);
    if (live.state === "training" || live.state === "loading") liveTimer = setTimeout(pollLive, 1000);
  };
  const pollLive = async () => {
    const answer = await call("/live");
    if (answer.ok) showLive(answer.body.state === "offline" ? null : answer.body);
  };
  pollLive();

  // -- history, diff, rollback --------------------------------------------------------------------------------
  const showDiff = async (number) => {
    const answer = await call(`/diff?old=${number - 1}&new=${number}`);
    const box = $("diff");
    box.hidden = false;
    box.replaceChildren(
      ...answer.body.diff.map((line) => {
        const kind = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
        return VB.el("span", {class: kind}, line + "\n");
      }),
    );
  };
  const rollback = async (number) => {
    if (!window.confirm(format("studio.rollback_confirm", {number}))) return;
    const answer = await call("/rollback", {method: "POST", json: {number, base: version}});
    if (!answer.ok) {
      $("save-state").className = "error";
      $("save-state").textContent = answer.body.message || String(answer.status);
      return;
    }
    const text = await call(`/versions/${answer.body.number}`);
    editor.setText(text.body.text);
    saved(answer.body);
  };
  const loadHistory = async () => {
    const answer = await call("/versions");
    if (!answer.ok) return;
    $("history").tBodies[0].replaceChildren(
      ...answer.body.versions.map((v) =>
        VB.el(
          "tr",
          {"data-version": v.number},
          VB.el("td", {}, String(v.number), v.note ? VB.el("div", {class: "hint"}, v.note) : null),
          VB.el("td", {}, v.author),
          VB.el("td", {}, VB.time(v.created_at)),
          VB.el(
            "td",
            {},
            v.number > 1 ? VB.el("button", {type: "button", class: "diff", onclick: () => showDiff(v.number)}, VB.t("studio.diff")) : null,
            canWrite && v.number !== version
              ? VB.el("button", {type: "button", class: "rollback", onclick: () => rollback(v.number)}, VB.t("studio.rollback"))
              : null,
          ),
        ),
      ),
    );
  };
  loadHistory();

  // -- chat ---------------------------------------------------------------------------------------------------
  const chatLine = (who, text, meta) =>
    $("chat-log").append(VB.el("li", {class: who}, VB.el("b", {}, VB.t(`studio.chat_${who}`) + ": "), text, meta ? VB.el("div", {class: "meta"}, meta) : null));
  const chatTurn = async (request) => {
    const answer = await call("/chat", {method: "POST", json: {...request, chat: chatId, lang: $("chat-lang").value}});
    if (!answer.ok) {
      $("chat-state").textContent = answer.body.message || String(answer.status);
      return;
    }
    const turn = answer.body;
    chatId = turn.chat;
    const heard = turn.heard.intent && turn.heard.kind === "text" ? `${turn.heard.intent} ${turn.heard.confidence.toFixed(2)} → ${turn.event}` : turn.event;
    for (const text of turn.say) chatLine("robot", text, null);
    const slots = Object.entries(turn.slots).map(([k, v]) => `${k}=${v}`).join(", ");
    $("chat-state").textContent = `[${heard}]${slots ? " " + slots : ""}`;
    $("chat-form").hidden = turn.ended;
    if (turn.ended) $("chat-state").textContent += ` ${VB.t("studio.chat_outcome")}: ${turn.outcome}`;
    $("chat-text").focus();
  };
  if (canWrite) {
    $("chat-start").addEventListener("click", () => {
      chatId = "";
      $("chat-log").replaceChildren();
      chatTurn({kind: "start"});
    });
  }
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("chat-text").value;
    $("chat-text").value = "";
    if (text.trim()) chatLine("caller", text, null);
    chatTurn({kind: text.trim() ? "say" : "silence", text});
  });
  $("chat-hangup").addEventListener("click", () => chatTurn({kind: "hangup"}));

  // -- prompts and listen -------------------------------------------------------------------------------------
  const listen = async (path) => {
    const answer = await call("/listen", {method: "POST", json: {path, lang: $("chat-lang").value}});
    if (!answer.ok) {
      VB.showProblem(new Error(answer.body.message || answer.status));
      return;
    }
    const player = $("player");
    player.hidden = false;
    player.src = URL.createObjectURL(answer.body);
    player.play().catch(() => {});
  };
  const loadPrompts = async () => {
    const answer = await call(`/prompts?lang=${$("chat-lang").value}`);
    if (!answer.ok) return;
    $("prompts").replaceChildren(
      ...answer.body.prompts.map((p) =>
        VB.el("li", {"data-path": p.path}, VB.el("button", {type: "button", onclick: () => listen(p.path)}, "▶ " + VB.t("studio.listen")), " ", VB.el("code", {}, p.path), VB.el("div", {}, p.spoken)),
      ),
    );
  };
  $("chat-lang").addEventListener("change", loadPrompts);
  loadPrompts();
})();
