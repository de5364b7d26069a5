/*
 * AntiScam Assistant widget: one script tag adds a floating chat button to any page.
 *
 *   <script src="https://HOST/widget.js" data-lang="zh" data-title="反诈助手" defer></script>
 *
 * The panel lives in a Shadow DOM (the page's CSS cannot reach it), talks to HOST/api/chat
 * with streaming (Server-Sent Events over fetch), shows citations as links and works at
 * mobile widths (full screen below 480px). Every piece of text from the bot or the network
 * is put on the page with textContent or createTextNode, never innerHTML: the bot's small
 * Markdown subset (lists, **bold**, links) is built as DOM nodes. Links are only http(s).
 * It keeps the conversation in memory only and sends it with each request. The 📎 button
 * (an <input type="file" accept="image/*">: camera or gallery on phones) sends a screenshot
 * to HOST/api/check as multipart and shows the verdict, red flags and the (redacted) text read.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__antiscamWidget) return;
  window.__antiscamWidget = true;

  var base = new URL(script.src, location.href).origin;
  var lang = script.getAttribute("data-lang") === "en" ? "en" : "zh";
  var T = {
    zh: {
      title: "反诈助手", open: "打开反诈助手", close: "关闭", placeholder: "输入你的问题…",
      send: "发送", sources: "来源", error: "暂时无法回答，请稍后再试。",
      hello: "你好！遇到可疑的贷款、征信、转账或投资信息，可以问我。涉及资金请先通过官方渠道核实。",
      disclaimer: "防骗常识，不构成法律意见。紧急情况请联系银行并拨打110。",
      up: "有帮助", down: "没帮助", thanks: "谢谢反馈！",
      attach: "上传截图检查", shot: "🖼 截图", read: "读到的文字：", flags: "危险信号：",
      verdict: { scam: "⛔ 很可能是诈骗", suspicious: "⚠️ 可疑，请核实", legit: "✅ 未发现明显诈骗特征" }
    },
    en: {
      title: "AntiScam Assistant", open: "Open the AntiScam Assistant", close: "Close",
      placeholder: "Type your question…", send: "Send", sources: "Sources",
      error: "Cannot answer right now. Please try again later.",
      hello: "Hi! Ask me about suspicious loan, credit, transfer or investment offers. Verify anything about money through official channels.",
      disclaimer: "Fraud-awareness information, not legal advice. In an emergency call your bank and the police.",
      up: "Helpful", down: "Not helpful", thanks: "Thanks for the feedback!",
      attach: "Check a screenshot", shot: "🖼 Screenshot", read: "Text read:", flags: "Red flags:",
      verdict: { scam: "⛔ Very likely a scam", suspicious: "⚠️ Suspicious: verify it", legit: "✅ No clear scam signs found" }
    }
  }[lang];
  var title = script.getAttribute("data-title") || T.title;
  var history = [];
  var MAX_TURNS = 10;

  var CSS = [
    // The page can still style the host element itself, so everything that matters is set on
    // .root inside the shadow tree, starting from `all: initial` (no inherited fonts, spacing).
    ":host{all:initial!important;display:block!important}",
    ".root{all:initial;position:fixed;right:16px;bottom:16px;z-index:2147483000;display:block;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI','PingFang SC','Microsoft YaHei',sans-serif;",
    "color:#1f1f1f;letter-spacing:normal;word-spacing:normal;text-align:left;direction:ltr}",
    "*{box-sizing:border-box}",
    ".fab{width:56px;height:56px;border-radius:50%;border:0;background:#c5221f;color:#fff;font-size:26px;",
    "cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.3)}",
    ".panel{position:absolute;right:0;bottom:68px;width:min(380px,calc(100vw - 32px));",
    "height:min(560px,calc(100vh - 100px));background:#fff;border-radius:12px;display:flex;flex-direction:column;",
    "box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}",
    ".panel[hidden]{display:none}",
    ".head{background:#c5221f;color:#fff;padding:10px 12px;display:flex;align-items:center;gap:8px}",
    ".head h2{all:unset;font-weight:600;font-size:15px;flex:1}",
    ".head button{all:unset;cursor:pointer;font-size:20px;padding:0 6px}",
    ".log{flex:1;overflow-y:auto;padding:10px;background:#f7f7f8;display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:88%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;word-wrap:break-word}",
    ".user{align-self:flex-end;background:#fde7e6}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e3e3e3}",
    ".bot.urgent{border:2px solid #c5221f;background:#fdecea}",
    ".notice{font-size:12px;color:#8a5a00;margin-bottom:4px}",
    ".rich{white-space:normal}",
    ".rich p{margin:0 0 6px}",
    ".rich ul,.rich ol{margin:0 0 6px;padding-left:20px}",
    ".rich li{margin:2px 0}",
    ".rich p:last-child,.rich ul:last-child,.rich ol:last-child{margin-bottom:0}",
    ".rich a{color:#1a56b0;overflow-wrap:anywhere}",
    ".sources-head{margin-top:8px;font-size:12px;font-weight:600;color:#555}",
    ".sources{margin:2px 0 0;padding-left:18px;font-size:12px;white-space:normal}",
    ".sources a{color:#1a56b0}",
    ".rate{margin-top:4px;display:flex;gap:6px;font-size:12px}",
    ".rate button{all:unset;cursor:pointer;padding:0 4px;border-radius:4px}",
    ".rate button:hover{background:#eee}",
    ".error{color:#b00020}",
    "form{display:flex;gap:6px;padding:8px;border-top:1px solid #e3e3e3;background:#fff}",
    "textarea{flex:1;resize:none;height:40px;padding:8px;border:1px solid #ccc;border-radius:8px;font:inherit}",
    "form button{border:0;border-radius:8px;background:#c5221f;color:#fff;padding:0 14px;font:inherit;cursor:pointer}",
    "form button:disabled{opacity:.5;cursor:default}",
    "form .clip{background:#eee;color:#333;padding:0 10px}",
    ".verdict{font-weight:600;margin-bottom:4px}",
    ".read{margin:6px 0;font-size:12px;color:#444;border-left:3px solid #ddd;padding-left:6px}",
    ".foot{font-size:11px;color:#666;padding:0 10px 8px;background:#fff}",
    "@media (max-width:480px){.root{right:8px;bottom:8px}",
    ".panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0}",
    "textarea{font-size:16px}}"
  ].join("");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }

  // A custom element name, so the page's `div { ... }` rules do not match the host.
  var host = document.createElement("antiscam-widget");
  host.id = "antiscam-widget";
  var shadow = host.attachShadow({ mode: "open" });
  var root = el("div", "root");
  shadow.appendChild(root);
  try {  // a constructed sheet is not blocked by a page's CSP style-src
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    shadow.appendChild(el("style", null, CSS));
  }

  var fab = el("button", "fab", "🛡");
  fab.type = "button";
  fab.setAttribute("aria-label", T.open);
  fab.setAttribute("part", "button");
  var panel = el("section", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var head = el("div", "head");
  head.appendChild(el("h2", null, title));
  var closeBtn = el("button", null, "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", T.close);
  head.appendChild(closeBtn);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var form = el("form");
  var input = el("textarea");
  input.placeholder = T.placeholder;
  input.setAttribute("aria-label", T.placeholder);
  input.maxLength = 2000;
  var sendBtn = el("button", null, T.send);
  sendBtn.type = "submit";
  var file = el("input");
  file.type = "file";
  file.accept = "image/*";
  file.hidden = true;
  var clip = el("button", "clip", "📎");
  clip.type = "button";
  clip.title = T.attach;
  clip.setAttribute("aria-label", T.attach);
  clip.addEventListener("click", function () { file.click(); });
  form.appendChild(file);
  form.appendChild(clip);
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(head);
  panel.appendChild(log);
  panel.appendChild(form);
  panel.appendChild(el("div", "foot", T.disclaimer));
  root.appendChild(panel);
  root.appendChild(fab);
  log.appendChild(el("div", "msg bot", T.hello));

  function toggle(open) {
    panel.hidden = !open;
    if (open) input.focus();
  }
  fab.addEventListener("click", function () { toggle(panel.hidden); });
  closeBtn.addEventListener("click", function () { toggle(false); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  function safeUrl(url) {
    try {
      var u = new URL(String(url));
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) { return null; }
  }

  function link(label, href) {
    var a = el("a", null, label);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    return a;
  }

  // The bot's small Markdown subset, built as DOM nodes (never innerHTML). Inline: **bold**,
  // [text](url) and bare URLs; only http(s) URLs become links, anything else ([x](javascript:…),
  // data:…) stays as the literal text it was. Blocks: "- " / "* " / "• " bullet lines,
  // "1. " / "1) " numbered lines, paragraphs split by blank lines, single line breaks kept.
  var INLINE = /\*\*([^*\n]+?)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|https?:\/\/[^\s<>"'()\[\]{}，。；、！？）」》]+/g;
  var TRAILING = /[.,;:!?]+$/;

  function inline(parent, text) {
    var pos = 0, m, matches = [];
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text))) matches.push(m);
    matches.forEach(function (m) {
      if (m.index > pos) parent.appendChild(document.createTextNode(text.slice(pos, m.index)));
      var whole = m[0];
      pos = m.index + whole.length;
      if (m[1] != null) {
        var strong = el("strong");
        inline(strong, m[1]);
        parent.appendChild(strong);
      } else if (m[2] != null) {
        var href = safeUrl(m[3]);
        parent.appendChild(href ? link(m[2], href) : document.createTextNode(whole));
      } else {
        var tail = (whole.match(TRAILING) || [""])[0];
        var url = whole.slice(0, whole.length - tail.length);
        var bare = safeUrl(url);
        parent.appendChild(bare ? link(url, bare) : document.createTextNode(url));
        if (tail) parent.appendChild(document.createTextNode(tail));
      }
    });
    if (pos < text.length) parent.appendChild(document.createTextNode(text.slice(pos)));
  }

  function rich(text) {
    var frag = el("div", "rich");
    var para = null, list = null;
    String(text || "").replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
      var bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
      var numbered = bullet ? null : /^\s*(\d{1,3})[.)]\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        var tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = el(tag);
          frag.appendChild(list);
        }
        var item = el("li");
        if (numbered) item.value = Number(numbered[1]);
        inline(item, bullet ? bullet[1] : numbered[2]);
        list.appendChild(item);
        para = null;
      } else if (!line.trim()) {
        para = null;
        list = null;
      } else {
        if (para) para.appendChild(el("br"));
        else {
          para = el("p");
          frag.appendChild(para);
        }
        list = null;
        inline(para, line);
      }
    });
    return frag;
  }

  function renderFinal(bubble, answer) {
    while (bubble.firstChild) bubble.removeChild(bubble.firstChild);
    if (answer.urgent) bubble.classList.add("urgent");
    if (answer.notice) bubble.appendChild(el("div", "notice", answer.notice));
    bubble.appendChild(rich(answer.answer || ""));
    var cites = answer.citations || [];
    if (cites.length) {
      bubble.appendChild(el("div", "sources-head", T.sources));
      var list = el("ol", "sources");
      list.setAttribute("aria-label", T.sources);
      cites.forEach(function (c, i) {
        var item = el("li");
        item.value = Number(c.n) || i + 1;
        var href = safeUrl(c.url);
        var label = c.title || c.source_title || c.doc_id || "";
        item.appendChild(href ? link(label, href) : document.createTextNode(label));
        var meta = [c.publisher, c.date].filter(Boolean).join(", ");
        if (meta) item.appendChild(document.createTextNode(" — " + meta));
        list.appendChild(item);
      });
      bubble.appendChild(list);
    }
    if (answer.id) bubble.appendChild(rating(answer.id));
  }

  function rating(id) {
    var row = el("div", "rate");
    [["up", "👍", T.up], ["down", "👎", T.down]].forEach(function (r) {
      var b = el("button", null, r[1]);
      b.type = "button";
      b.title = r[2];
      b.setAttribute("aria-label", r[2]);
      b.addEventListener("click", function () {
        post("/api/feedback", { id: id, rating: r[0] }).then(function () {
          while (row.firstChild) row.removeChild(row.firstChild);
          row.appendChild(document.createTextNode(T.thanks));
        }).catch(function () {});
      });
      row.appendChild(b);
    });
    return row;
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": lang },
      body: JSON.stringify(body)
    });
  }

  function showError(bubble, text) {
    while (bubble.firstChild) bubble.removeChild(bubble.firstChild);
    bubble.classList.add("error");
    bubble.textContent = text || T.error;
  }

  function errorText(res) {
    return res.json().then(function (j) { return j && j.detail; }, function () { return null; });
  }

  // Read an SSE stream from a fetch body: "event: x" + "data: {...}" blocks split by blank lines.
  function readEvents(res, onEvent) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) return;
        buffer += decoder.decode(r.value, { stream: true }).replace(/\r\n?/g, "\n");
        var blocks = buffer.split("\n\n");
        buffer = blocks.pop();
        blocks.forEach(function (block) {
          var name = "message", data = [];
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
          });
          if (data.length) onEvent(name, JSON.parse(data.join("\n")));
        });
        return pump();
      });
    }
    return pump();
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var message = input.value.trim();
    if (!message || sendBtn.disabled) return;
    input.value = "";
    sendBtn.disabled = true;
    log.appendChild(el("div", "msg user", message));
    var bubble = el("div", "msg bot", "…");
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    var streamed = "";
    var final = null;
    post("/api/chat", { message: message, history: history.slice(-2 * MAX_TURNS), lang: lang, stream: true })
      .then(function (res) {
        if (!res.ok) return errorText(res).then(function (t) { showError(bubble, t); });
        return readEvents(res, function (name, data) {
          if (name === "delta") {
            streamed += data.text || "";
            while (bubble.firstChild) bubble.removeChild(bubble.firstChild);
            bubble.appendChild(rich(streamed));
          } else if (name === "answer") {
            final = data;
            renderFinal(bubble, data);
          } else if (name === "error") {
            showError(bubble, data.detail);
          }
          log.scrollTop = log.scrollHeight;
        });
      })
      .catch(function () { showError(bubble, T.error); })
      .then(function () {
        if (final) {
          history.push({ role: "user", content: message }, { role: "assistant", content: final.answer || "" });
        }
        sendBtn.disabled = false;
      });
  });

  // A screenshot: multipart to /api/check; verdict, flags, the text read, then the answer.
  file.addEventListener("change", function () {
    var picked = file.files && file.files[0];
    file.value = "";
    if (!picked || sendBtn.disabled) return;
    sendBtn.disabled = clip.disabled = true;
    log.appendChild(el("div", "msg user", T.shot));
    var bubble = el("div", "msg bot", "…");
    log.appendChild(bubble);
    log.scrollTop = log.scrollHeight;
    var data = new FormData();
    data.append("image", picked);
    data.append("lang", lang);
    fetch(base + "/api/check", { method: "POST", headers: { "Accept-Language": lang }, body: data })
      .then(function (res) {
        if (!res.ok) return errorText(res).then(function (t) { showError(bubble, t); });
        return res.json().then(function (answer) { renderCheck(bubble, answer); });
      })
      .catch(function () { showError(bubble, T.error); })
      .then(function () {
        sendBtn.disabled = clip.disabled = false;
        log.scrollTop = bubble.offsetTop - log.offsetTop - 8;  // the verdict first
      });
  });

  function renderCheck(bubble, answer) {
    renderFinal(bubble, answer);
    var top = bubble.firstChild;
    var head = el("div", "verdict", T.verdict[answer.verdict] || "");
    bubble.insertBefore(head, top);
    var flags = answer.red_flags || [];
    if (flags.length) {
      var list = el("ul", "sources flags");
      list.setAttribute("aria-label", T.flags);
      flags.forEach(function (f) {
        var label = f.label || (f.labels && (f.labels[lang] || f.labels.zh)) || f.flag || "";
        if (typeof label === "object") label = label[lang] || label.zh || "";
        list.appendChild(el("li", null, label + (f.quote ? " — “" + f.quote + "”" : "")));
      });
      bubble.insertBefore(el("div", "sources-head", T.flags), top);
      bubble.insertBefore(list, top);
    }
    if (answer.read && answer.read.text) bubble.insertBefore(el("div", "read", T.read + "\n" + answer.read.text), top);
  }

  function attach() { document.body.appendChild(host); }
  if (document.body) attach(); else document.addEventListener("DOMContentLoaded", attach);
})();
