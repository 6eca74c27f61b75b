// The sandbox page: renders what the emulator holds for one user, as Slack shows it, and sends
// what the person does to /api/* (the emulator turns it into Slack's signed payloads).
// Every text is escaped: it comes from data files.
"use strict";

const EMOJI = {
  alarm_clock: "⏰", bulb: "💡", grey_question: "❔", leftwards_arrow_with_hook: "↩️", mag: "🔍",
  no_entry: "⛔", raising_hand: "🙋", rotating_light: "🚨", warning: "⚠️", white_check_mark: "✅",
  bar_chart: "📊", tada: "🎉", x: "❌", eyes: "👀", speech_balloon: "💬",
};
const COLORS = ["#e8912d", "#2bac76", "#4a154b", "#1264a3", "#e01e5a", "#36c5f0"];

let current = null;            // the last state
let me = new URLSearchParams(location.search).get("user") || "U0ANA";
let view = "channel";          // "channel" | "home" | "dm" (the app's Messages tab)
let openThread = null;         // ts of the open thread
const shown = {};              // section -> the JSON last rendered

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function unentity(s) {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
function emoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (all, name) => EMOJI[name] || all);
}
function userName(id) {
  if (current && id === "UBOT") return current.bot_name;
  const u = current && current.users.find((x) => x.id === id);
  return u ? u.real_name : id;
}

function channelName(id) {
  return current && current.channel.id === id ? current.channel.name : id;
}

// Slack mrkdwn, minimally: <@U>, <!subteam^S>, <!here>, <url|label>, `code`, ```pre```, *bold*,
// _italic_, ~strike~, > quotes, :emoji:. Returns HTML built only from escaped text.
function mrkdwn(text) {
  const tokens = [];
  const hold = (html) => { tokens.push(html); return "\u0000" + (tokens.length - 1) + "\u0000"; };
  let s = String(text ?? "");
  s = s.replace(/```([\s\S]*?)```/g, (_, code) => hold("<pre>" + esc(unentity(code)) + "</pre>"));
  s = s.replace(/`([^`\n]+)`/g, (_, code) => hold("<code>" + esc(unentity(code)) + "</code>"));
  s = s.replace(/<([^<>]+)>/g, (_, inner) => {
    const [target, label] = inner.split("|", 2);
    if (target.startsWith("@")) return hold('<span class="mention">@' + esc(userName(target.slice(1))) + "</span>");
    if (target.startsWith("#")) return hold('<span class="mention">#' + esc(unentity(label || channelName(target.slice(1)))) + "</span>");
    if (target.startsWith("!subteam^")) return hold('<span class="mention">@' + esc(unentity(label || target.slice(9))) + "</span>");
    if (target.startsWith("!")) return hold('<span class="mention">@' + esc(target.slice(1)) + "</span>");
    const url = unentity(target);
    if (/^(https?:|mailto:)/i.test(url)) {
      return hold('<a href="' + esc(url) + '" target="_blank" rel="noopener noreferrer">' + esc(unentity(label || url)) + "</a>");
    }
    return hold(esc(unentity(label || target)));
  });
  let html = esc(unentity(s));
  html = html.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, "$1<b>$2</b>");
  html = html.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, "$1<i>$2</i>");
  html = html.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, "$1<s>$2</s>");
  html = html.replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>");
  html = emoji(html).replace(/\n/g, "<br>");
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => tokens[Number(i)]);
}
function textHtml(t) {
  if (!t) return "";
  return t.type === "mrkdwn" ? mrkdwn(t.text) : emoji(esc(t.text));
}
function el(tag, cls, html) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (html !== undefined) e.innerHTML = html;
  return e;
}

// ---------------------------------------------------------------- Block Kit
// ctx: {ts} for a message, {view_id} for a modal or App Home; modal inputs are read on submit.
function renderBlocks(blocks, ctx, errors) {
  const box = el("div", "blocks");
  for (const b of blocks || []) {
    const r = renderBlock(b, ctx, errors || {});
    if (r) { r.dataset.blockId = b.block_id || ""; box.appendChild(r); }
  }
  return box;
}
function renderBlock(b, ctx, errors) {
  switch (b.type) {
    case "header": return el("div", "block header", textHtml(b.text));
    case "divider": return el("hr", "divider");
    case "context": {
      const d = el("div", "block context");
      for (const e of b.elements || []) {
        if (e.type === "image") d.appendChild(image(e));
        else d.appendChild(el("span", "", textHtml(e)));
      }
      return d;
    }
    case "section": {
      const d = el("div", "block section");
      const row = el("div", "section-row");
      const main = el("div", "section-main");
      if (b.text) main.appendChild(el("div", "", textHtml(b.text)));
      if (b.fields) {
        const f = el("div", "fields");
        for (const x of b.fields) f.appendChild(el("div", "", textHtml(x)));
        main.appendChild(f);
      }
      row.appendChild(main);
      if (b.accessory) row.appendChild(element(b.accessory, b, ctx));
      d.appendChild(row);
      return d;
    }
    case "actions": {
      const d = el("div", "block actions");
      for (const e of b.elements || []) d.appendChild(element(e, b, ctx));
      return d;
    }
    case "image": {
      const d = el("div", "block");
      if (b.title) d.appendChild(el("div", "", textHtml(b.title)));
      d.appendChild(image(b));
      return d;
    }
    case "input": return input(b, errors[b.block_id]);
    case "rich_text": return null;  // people's messages: their text is shown instead
    default: return el("div", "block muted", esc("[" + b.type + " block]"));
  }
}
function image(e) {
  const img = el("img", "image");
  img.alt = e.alt_text || "";
  // Only the sandbox's own files load: no internet here, and nothing outside may be fetched.
  if (typeof e.image_url === "string" && e.image_url.startsWith("/files/")) img.src = e.image_url;
  else return el("span", "muted", "[image: " + esc(e.alt_text || "") + "]");
  return img;
}
function options(e) {
  const opts = [];
  for (const o of e.options || []) opts.push(o);
  for (const g of e.option_groups || []) for (const o of g.options || []) opts.push(o);
  return opts;
}
function element(e, block, ctx) {
  if (e.type === "button") {
    const b = el("button", "btn" + (e.style ? " " + e.style : ""), textHtml(e.text));
    b.type = "button";
    b.dataset.actionId = e.action_id;
    if (e.value !== undefined) b.dataset.value = e.value;
    b.addEventListener("click", () => act({ ...ctx, action_id: e.action_id, block_id: block.block_id, value: e.value ?? null }));
    return b;
  }
  if (e.type === "static_select" || e.type === "overflow") {
    const s = el("select", "select");
    s.dataset.actionId = e.action_id;
    const placeholder = el("option", "", e.placeholder ? esc(e.placeholder.text) : "Choose…");
    placeholder.value = "";
    s.appendChild(placeholder);
    for (const o of options(e)) {
      const opt = el("option", "", emoji(esc(o.text.text)));
      opt.value = o.value;
      if (e.initial_option && e.initial_option.value === o.value) opt.selected = true;
      s.appendChild(opt);
    }
    s.addEventListener("change", () => {
      if (s.value) act({ ...ctx, action_id: e.action_id, block_id: block.block_id, option_value: s.value });
    });
    return s;
  }
  if (e.type === "image") return image(e);
  return el("span", "muted", esc("[" + e.type + "]"));
}
function input(b, error) {
  const d = el("div", "block input-block");
  const e = b.element || {};
  d.dataset.actionId = e.action_id || "";
  d.dataset.elementType = e.type || "";
  if (!b.optional) d.dataset.required = "";
  const label = el("label", "input-label", textHtml(b.label));
  if (b.optional) label.appendChild(el("span", "optional", " (optional)"));
  d.appendChild(label);
  if (e.type === "plain_text_input") {
    const f = e.multiline ? el("textarea") : el("input");
    if (!e.multiline) f.type = "text";
    f.name = e.action_id;
    if (e.placeholder) f.placeholder = e.placeholder.text;
    if (e.initial_value) f.value = e.initial_value;
    if (e.max_length) f.maxLength = e.max_length;
    d.appendChild(f);
  } else if (e.type === "static_select") {
    const s = el("select");
    s.name = e.action_id;
    const none = el("option", "", e.placeholder ? esc(e.placeholder.text) : "Choose…");
    none.value = "";
    s.appendChild(none);
    for (const o of options(e)) {
      const opt = el("option", "", emoji(esc(o.text.text)));
      opt.value = o.value;
      if (e.initial_option && e.initial_option.value === o.value) opt.selected = true;
      s.appendChild(opt);
    }
    d.appendChild(s);
  } else if (e.type === "checkboxes" || e.type === "radio_buttons") {
    const initial = new Set((e.initial_options || (e.initial_option ? [e.initial_option] : [])).map((o) => o.value));
    for (const o of e.options || []) {
      const c = el("label", "choice");
      const box = el("input");
      box.type = e.type === "checkboxes" ? "checkbox" : "radio";
      box.name = (b.block_id || "") + ":" + e.action_id;
      box.value = o.value;
      box.checked = initial.has(o.value);
      c.appendChild(box);
      c.appendChild(el("span", "", " " + textHtml(o.text)));
      if (o.description) c.appendChild(el("span", "desc", textHtml(o.description)));
      d.appendChild(c);
    }
  } else {
    d.appendChild(el("span", "muted", esc("[" + e.type + "]")));
  }
  if (b.hint) d.appendChild(el("div", "input-hint", textHtml(b.hint)));
  if (error) d.appendChild(el("div", "input-error", esc(error)));
  return d;
}
function missingRequired(root) {
  let missing = false;
  for (const d of root.querySelectorAll(".input-block[data-required]")) {
    const v = (modalValues(d.parentElement)[d.dataset.blockId] || {})[d.dataset.actionId];
    const empty = v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length);
    const shown = d.querySelector(".input-error.local");
    if (empty && !shown) d.appendChild(el("div", "input-error local", "Please complete this required field."));
    if (!empty && shown) shown.remove();
    missing = missing || empty;
  }
  return missing;
}
function modalValues(root) {
  const values = {};
  for (const d of root.querySelectorAll(".input-block")) {
    const bid = d.dataset.blockId, aid = d.dataset.actionId, kind = d.dataset.elementType;
    let v = null;
    if (kind === "plain_text_input") v = d.querySelector("input, textarea").value;
    else if (kind === "static_select") v = d.querySelector("select").value || null;
    else if (kind === "checkboxes") v = [...d.querySelectorAll("input:checked")].map((x) => x.value);
    else if (kind === "radio_buttons") v = (d.querySelector("input:checked") || {}).value || null;
    if (v !== null) values[bid] = { [aid]: v };
  }
  return values;
}

// ---------------------------------------------------------------- messages
function avatar(m) {
  const a = el("div", "avatar" + (m.bot ? " bot" : ""));
  const name = m.bot ? "L" : userName(m.user).slice(0, 1);
  a.textContent = name;
  if (!m.bot) a.style.background = COLORS[(m.user || "").length % COLORS.length];
  return a;
}
function time(ts) {
  const d = new Date(Number(String(ts).split(".")[0]) * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
function renderMessage(m, { ephemeral = false, inThread = false, channel = "channel" } = {}) {
  const d = el("div", "message" + (ephemeral ? " ephemeral" : ""));
  d.dataset.ts = m.ts;
  if (!m.bot && !ephemeral && channel === "channel" && current.shortcuts.length) d.appendChild(moreMenu(m));
  d.appendChild(avatar(m));
  const body = el("div", "body");
  if (ephemeral) body.appendChild(el("span", "only-you", "👁 Only visible to you"));
  const head = el("div");
  head.appendChild(el("span", "author", esc(m.bot ? current.bot_name : userName(m.user))));
  if (m.bot) head.appendChild(el("span", "app-tag", "APP"));
  head.appendChild(el("span", "time", esc(time(m.ts))));
  body.appendChild(head);
  const blocks = (m.blocks || []).filter((b) => b.type !== "rich_text");
  if (blocks.length) body.appendChild(renderBlocks(blocks, { ts: m.ts, channel }));
  else if (m.text) body.appendChild(el("div", "text", mrkdwn(m.text)));
  if (m.edited && !m.bot) body.appendChild(el("span", "edited", "(edited)"));  // as Slack: not for apps' updates
  for (const f of m.files || []) {
    const box = el("div", "file");
    box.appendChild(el("div", "file-title", esc(f.title || "file")));
    if ((f.mimetype || "").startsWith("image/")) {
      const img = el("img");
      img.src = "/files/" + encodeURIComponent(f.id);
      img.alt = f.title || "";
      img.dataset.fileId = f.id;
      img.addEventListener("click", () => showImage(img.src, f.title || ""));
      box.appendChild(img);
    } else {
      const a = el("a", "", esc(f.title || f.id));
      a.href = "/files/" + encodeURIComponent(f.id);
      box.appendChild(a);
    }
    body.appendChild(box);
  }
  if (!inThread && m.reply_count) {
    const r = el("button", "replies", esc(m.reply_count + (m.reply_count === 1 ? " reply" : " replies")));
    r.type = "button";
    r.dataset.threadTs = m.ts;
    r.addEventListener("click", () => { openThread = m.ts; render(true); });
    body.appendChild(r);
  }
  d.appendChild(body);
  return d;
}
// A person's message's ⋯ menu: the app's message shortcuts, as Slack lists them ("Send to labeling").
function moreMenu(m) {
  const s = el("select", "more");
  s.title = "More actions";
  s.dataset.moreFor = m.ts;
  const dots = el("option", "", "⋯");
  dots.value = "";
  s.appendChild(dots);
  for (const id of current.shortcuts) {
    const o = el("option", "", id === "send_to_labeling" ? "Send to labeling" : esc(id));
    o.value = id;
    s.appendChild(o);
  }
  s.addEventListener("change", () => {
    if (s.value) post("/api/shortcut", { ts: m.ts, callback_id: s.value });
  });
  return s;
}
function showImage(src, title) {
  const box = document.getElementById("lightbox");
  box.innerHTML = "";
  box.appendChild(el("div", "lightbox-title", esc(title)));
  const img = el("img");
  img.src = src;
  img.alt = title;
  box.appendChild(img);
  box.hidden = false;
}
function byTs(a, b) { return Number(a.ts) - Number(b.ts); }

// ---------------------------------------------------------------- rendering
function changed(section, data) {
  const json = JSON.stringify(data);
  if (shown[section] === json) return false;
  shown[section] = json;
  return true;
}
function render(force) {
  if (!current) return;
  if (force) for (const k of Object.keys(shown)) delete shown[k];
  renderUsers();
  document.getElementById("channel-view").hidden = view !== "channel";
  document.getElementById("home-view").hidden = view !== "home";
  document.getElementById("dm-view").hidden = view !== "dm";
  document.getElementById("nav-channel").classList.toggle("active", view === "channel");
  document.getElementById("nav-home").classList.toggle("active", view === "home");
  document.getElementById("nav-dm").classList.toggle("active", view === "dm");
  const header = document.getElementById("main-header");
  header.textContent = { channel: "# " + current.channel.name, home: "labelbot · Home", dm: "labelbot · Messages" }[view];
  if (view === "channel") renderChannel(); else if (view === "home") renderHome(); else renderDm();
  renderThread();
  renderModal();
}
function renderUsers() {
  if (!changed("users", [current.users, me])) return;
  const box = document.getElementById("users");
  box.innerHTML = "";
  for (const u of current.users) {
    const b = el("button", "user" + (u.id === me ? " active" : ""));
    b.type = "button";
    b.dataset.user = u.id;
    b.appendChild(el("span", "", esc(u.real_name)));
    b.appendChild(el("span", "role", esc(u.role + (u.simulated ? ", simulated" : ""))));
    b.addEventListener("click", () => switchUser(u.id));
    box.appendChild(b);
  }
}
function renderChannel() {
  const eph = current.ephemerals.filter((e) => !e.thread_ts || e.thread_ts === e.ts);
  if (!changed("channel", [current.messages, eph])) return;
  const box = document.getElementById("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.innerHTML = "";
  const all = [...current.messages.map((m) => [m, false]), ...eph.map((m) => [m, true])];
  all.sort((a, b) => byTs(a[0], b[0]));
  if (!all.length) box.appendChild(el("div", "empty", "No messages yet: the bot is posting the first items…"));
  for (const [m, e] of all) box.appendChild(renderMessage(m, { ephemeral: e }));
  if (atBottom) box.scrollTop = box.scrollHeight;
}
function renderDm() {
  const dm = current.dm;
  if (!changed("dm", dm)) return;
  const box = document.getElementById("dm-messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.innerHTML = "";
  const all = [...dm.messages.map((m) => [m, false]), ...dm.ephemerals.map((m) => [m, true])].sort((a, b) => byTs(a[0], b[0]));
  if (!all.length) box.appendChild(el("div", "empty", "No messages yet: Start labeling on App Home, or type /label next in #labeling."));
  for (const [m, e] of all) box.appendChild(renderMessage(m, { ephemeral: e, channel: "dm" }));
  if (atBottom) box.scrollTop = box.scrollHeight;
}
function renderHome() {
  if (!changed("home", current.home)) return;
  const box = document.getElementById("home-view");
  box.innerHTML = "";
  if (!current.home) { box.appendChild(el("div", "empty", "Opening App Home…")); return; }
  box.appendChild(renderBlocks(current.home.blocks, { view_id: current.home.id }));
}
function renderThread() {
  const pane = document.getElementById("thread-pane");
  pane.hidden = !openThread;
  if (!openThread) { shown.thread = null; return; }
  const parent = current.messages.find((m) => m.ts === openThread);
  const replies = current.threads[openThread] || [];
  const eph = current.ephemerals.filter((e) => e.thread_ts === openThread && e.ts !== openThread);
  if (!changed("thread", [openThread, parent, replies, eph])) return;
  const box = document.getElementById("thread-messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.innerHTML = "";
  if (parent) box.appendChild(renderMessage(parent, { inThread: true }));
  box.appendChild(el("div", "thread-sep", esc(replies.length + (replies.length === 1 ? " reply" : " replies"))));
  const all = [...replies.map((m) => [m, false]), ...eph.map((m) => [m, true])].sort((a, b) => byTs(a[0], b[0]));
  for (const [m, e] of all) box.appendChild(renderMessage(m, { ephemeral: e, inThread: true }));
  if (atBottom) box.scrollTop = box.scrollHeight;
}
function renderModal() {
  const layer = document.getElementById("modal-layer");
  const modal = current.modal;
  if (!changed("modal", [modal, current.modal_errors])) return;
  layer.innerHTML = "";
  layer.hidden = !modal;
  if (!modal) return;
  // Keep what the person typed when only the errors changed (same view, same hash).
  const box = el("div", "modal");
  box.dataset.viewId = modal.id;
  box.dataset.callbackId = modal.callback_id || "";
  const head = el("div", "modal-head");
  head.appendChild(el("span", "", textHtml(modal.title)));
  const x = el("button", "btn link", "✕");
  x.type = "button";
  x.title = "Close";
  x.addEventListener("click", () => post("/api/close", { view_id: modal.id }));
  head.appendChild(x);
  box.appendChild(head);
  const body = el("div", "modal-body");
  body.appendChild(renderBlocks(modal.blocks, { view_id: modal.id }, current.modal_errors));
  box.appendChild(body);
  const foot = el("div", "modal-foot");
  const cancel = el("button", "btn", modal.close ? textHtml(modal.close) : "Cancel");
  cancel.type = "button";
  cancel.dataset.role = "close";
  cancel.addEventListener("click", () => post("/api/close", { view_id: modal.id }));
  foot.appendChild(cancel);
  if (modal.submit) {
    const ok = el("button", "btn primary", textHtml(modal.submit));
    ok.type = "button";
    ok.dataset.role = "submit";
    ok.addEventListener("click", () => {
      if (missingRequired(body)) return;  // as Slack's client: nothing is sent
      post("/api/submit", { view_id: modal.id, values: modalValues(body) });
    });
    foot.appendChild(ok);
  }
  box.appendChild(foot);
  const previous = layer.__values;
  layer.appendChild(box);
  if (previous && previous.id === modal.id) restore(body, previous.values);
}
function restore(body, values) {
  for (const d of body.querySelectorAll(".input-block")) {
    const v = (values[d.dataset.blockId] || {})[d.dataset.actionId];
    if (v === undefined) continue;
    const f = d.querySelector("input[type=text], textarea, select");
    if (f && typeof v === "string") f.value = v;
    for (const c of d.querySelectorAll("input[type=checkbox], input[type=radio]")) {
      c.checked = Array.isArray(v) ? v.includes(c.value) : v === c.value;
    }
  }
}

// ---------------------------------------------------------------- talking to the sandbox
function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}
async function post(path, body) {
  const layer = document.getElementById("modal-layer");
  const body_ = layer.querySelector(".modal-body");
  if (body_) layer.__values = { id: layer.querySelector(".modal").dataset.viewId, values: modalValues(body_) };
  try {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user: me, ...body }) });
    const answer = await r.json().catch(() => ({ ok: false, error: r.status + " " + r.statusText }));
    if (!answer.ok) toast(answer.error || "refused");
    return answer;
  } finally {
    await poll();
  }
}
function act(target) { return post("/api/click", target); }
async function poll() {
  try {
    const r = await fetch("/api/state?user=" + encodeURIComponent(me), { cache: "no-store" });
    if (r.ok) { current = await r.json(); render(false); }
  } catch (e) { /* the sandbox stopped or restarts: try again */ }
}
function switchUser(id) {
  me = id;
  history.replaceState(null, "", "?user=" + encodeURIComponent(id));
  document.getElementById("modal-layer").__values = null;
  if (view === "home") post("/api/home", {});
  poll().then(() => render(true));
}
document.getElementById("nav-channel").addEventListener("click", (e) => { e.preventDefault(); view = "channel"; render(true); });
document.getElementById("nav-home").addEventListener("click", (e) => { e.preventDefault(); view = "home"; render(true); post("/api/home", {}); });
document.getElementById("nav-dm").addEventListener("click", (e) => { e.preventDefault(); view = "dm"; render(true); });
document.getElementById("thread-close").addEventListener("click", () => { openThread = null; render(true); });
document.getElementById("lightbox").addEventListener("click", (e) => { e.currentTarget.hidden = true; });
document.getElementById("run-digest").addEventListener("click", () => post("/api/digest", {}));
document.getElementById("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = document.getElementById("composer-input");
  const text = f.value.trim();
  f.value = "";
  if (text.startsWith("/label")) post("/api/command", { text: text.slice(6).trim() });
  else if (text) post("/api/post", { text });
});
document.getElementById("thread-composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = document.getElementById("thread-input");
  const text = f.value.trim();
  f.value = "";
  if (text && openThread) post("/api/post", { text, thread_ts: openThread });
});
poll();
setInterval(poll, 700);
