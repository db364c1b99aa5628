/*
 * The chat widget: one script tag on any page adds a button that opens a panel where the reader
 * asks questions and reads cited answers.
 *
 *   <script src="http://HOST:8000/widget.js" data-api="http://HOST:8000" data-lang="fr"></script>
 *
 * Optional filters, read at each question (a page may change them): data-date-from and
 * data-date-to (YYYY-MM-DD), data-sources and data-doc-ids (comma-separated), sent as the
 * request's "filters".
 * - Styles live in a shadow DOM: the host page's CSS cannot reach in, ours cannot leak out.
 * - Answers stream (Server-Sent Events): text shows as it is written, then the verified answer
 *   replaces it; a stream that ends without its final answer reads as a cut connection.
 * - Every text from the service is set with textContent, never parsed as HTML.
 * - Markers such as [1] become buttons that open the cited passage, the sentence highlighted.
 * - The conversation lasts while the page is open; each question carries the previous turns.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var api = ((script && script.getAttribute("data-api")) || "").replace(/\/+$/, "");
  // A key in a public page is readable by anyone: for a page people log into, or behind a proxy.
  var apiKey = (script && script.getAttribute("data-api-key")) || "";
  var lang = ((script && script.getAttribute("data-lang")) ||
              document.documentElement.lang || "fr").slice(0, 2).toLowerCase();
  var FILTERS = { date_from: "data-date-from", date_to: "data-date-to",
                  sources: "data-sources", doc_ids: "data-doc-ids" };
  var TIMEOUT_MS = 90000;  // longer than the service's own model time limits

  var TEXT = {
    fr: {
      open: "Poser une question sur les articles", title: "Questions sur les articles",
      close: "Fermer", placeholder: "Votre question…", send: "Envoyer",
      thinking: "Recherche dans les articles…", abstained: "Les articles ne le disent pas.",
      sources: "Sources", source: "Source", date: "Date", passage: "Passage cité",
      retry: "Réessayer", you: "Vous", assistant: "Réponse",
      errors: {
        network: "Le service est injoignable. Vérifiez la connexion puis réessayez.",
        timeout: "Le service met trop de temps à répondre.",
        cut: "La connexion a été coupée pendant la réponse.",
        rate: "Trop de questions d’un coup. Réessayez dans {s} s.",
        server: "Le service a rencontré une erreur ({code}).",
        invalid: "La question n’est pas acceptée : {message}"
      }
    },
    en: {
      open: "Ask a question about the articles", title: "Questions about the articles",
      close: "Close", placeholder: "Your question…", send: "Send",
      thinking: "Searching the articles…", abstained: "The articles do not say.",
      sources: "Sources", source: "Source", date: "Date", passage: "Cited passage",
      retry: "Try again", you: "You", assistant: "Answer",
      errors: {
        network: "The service cannot be reached. Check the connection and try again.",
        timeout: "The service is taking too long to answer.",
        cut: "The connection was cut while the answer was coming.",
        rate: "Too many questions at once. Try again in {s} s.",
        server: "The service ran into an error ({code}).",
        invalid: "The question was not accepted: {message}"
      }
    }
  };
  var t = TEXT[lang] || TEXT.en;

  var CSS = [
    ":host { all: initial; }",
    "* { box-sizing: border-box; font-family: system-ui, sans-serif; }",
    ".launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px;",
    "  height: 56px; border-radius: 50%; border: none; background: #1d4ed8; color: #fff;",
    "  font-size: 26px; cursor: pointer; box-shadow: 0 4px 12px rgba(0,0,0,.25); }",
    ".launcher:focus-visible, button:focus-visible, textarea:focus-visible {",
    "  outline: 3px solid #f59e0b; outline-offset: 2px; }",
    ".panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483000; width: 380px;",
    "  max-width: calc(100vw - 40px); height: 540px; max-height: calc(100vh - 120px);",
    "  display: flex; flex-direction: column; background: #fff; color: #111;",
    "  border-radius: 12px; box-shadow: 0 8px 28px rgba(0,0,0,.3); overflow: hidden; }",
    ".panel[hidden] { display: none; }",
    "header { display: flex; align-items: center; justify-content: space-between;",
    "  padding: 10px 14px; background: #1d4ed8; color: #fff; font-size: 15px; }",
    "header h2 { margin: 0; font-size: 15px; font-weight: 600; }",
    "header button { background: none; border: none; color: #fff; font-size: 20px; cursor: pointer; }",
    ".log { flex: 1; overflow-y: auto; padding: 12px; font-size: 14px; line-height: 1.45; }",
    ".msg { margin: 0 0 12px; padding: 8px 10px; border-radius: 8px; white-space: pre-wrap; }",
    ".user { background: #e0e7ff; margin-left: 40px; }",
    ".bot { background: #f3f4f6; margin-right: 20px; }",
    ".bot.abstained { background: #fef9c3; }",
    ".bot.error { background: #fee2e2; }",
    ".marker { border: none; background: #1d4ed8; color: #fff; border-radius: 4px;",
    "  padding: 0 5px; margin: 0 1px; font-size: 12px; cursor: pointer; }",
    ".note { margin-top: 8px; padding: 8px; border-left: 3px solid #1d4ed8; background: #fff;",
    "  font-size: 13px; }",
    ".note h3 { margin: 0 0 4px; font-size: 13px; }",
    ".note p { margin: 2px 0; }",
    "mark { background: #fde68a; color: inherit; }",
    ".sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }",
    ".retry { margin-top: 6px; border: 1px solid #b91c1c; background: #fff; color: #b91c1c;",
    "  border-radius: 6px; padding: 3px 10px; cursor: pointer; }",
    "form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e5e7eb; }",
    "textarea { flex: 1; resize: none; height: 42px; padding: 8px; font-size: 14px;",
    "  border: 1px solid #9ca3af; border-radius: 8px; }",
    "form button { border: none; border-radius: 8px; background: #1d4ed8; color: #fff;",
    "  padding: 0 14px; cursor: pointer; }",
    "form button:disabled { background: #9ca3af; cursor: default; }"
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }

  var host = el("div", { "data-cited-answers-widget": "" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", {}, CSS));

  var launcher = el("button", { "class": "launcher", type: "button", "aria-label": t.open,
                                "aria-expanded": "false", "aria-controls": "qa-panel" }, "?");
  var panel = el("section", { "class": "panel", id: "qa-panel", role: "dialog",
                              "aria-label": t.title, hidden: "" });
  var header = el("header");
  header.appendChild(el("h2", {}, t.title));
  var closeButton = el("button", { type: "button", "aria-label": t.close }, "×");
  header.appendChild(closeButton);
  var log = el("div", { "class": "log", role: "log", "aria-live": "polite" });
  var form = el("form");
  var input = el("textarea", { "aria-label": t.placeholder, placeholder: t.placeholder,
                               maxlength: "1000" });
  var sendButton = el("button", { type: "submit" }, t.send);
  form.appendChild(input);
  form.appendChild(sendButton);
  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(form);
  root.appendChild(launcher);
  root.appendChild(panel);

  var history = [];
  var busy = false;

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function addMessage(kind, text) {
    var msg = el("div", { "class": "msg " + kind });
    if (kind === "user") msg.appendChild(el("span", { "class": "sr" }, t.you + " : "));
    msg.appendChild(document.createTextNode(text));
    log.appendChild(msg);
    log.scrollTop = log.scrollHeight;
    return msg;
  }

  function footnote(citation) {
    var note = el("div", { "class": "note" });
    note.appendChild(el("h3", {}, "[" + citation.marker + "] " + citation.title));
    note.appendChild(el("p", {}, t.source + " : " + citation.source +
                                 (citation.date ? " · " + t.date + " : " + citation.date : "")));
    var passage = el("p", { "aria-label": t.passage });
    // start, end and passage_start count Unicode code points (Python str indices), not the
    // UTF-16 units of String.slice: an emoji is one code point but two units. So slice an
    // array of code points, or each emoji before the citation would shift the <mark>.
    var chars = Array.from(citation.passage || citation.text);
    var offset = citation.passage ? citation.passage_start : citation.start;
    var from = Math.min(chars.length, Math.max(0, citation.start - offset));
    var to = Math.max(from, Math.min(chars.length, citation.end - offset));
    passage.appendChild(document.createTextNode(chars.slice(0, from).join("")));
    passage.appendChild(el("mark", {}, chars.slice(from, to).join("")));
    passage.appendChild(document.createTextNode(chars.slice(to).join("")));
    note.appendChild(passage);
    return note;
  }

  function renderAnswer(msg, body) {
    msg.textContent = "";
    if (body.abstained) msg.classList.add("abstained");
    var byMarker = {};
    (body.citations || []).forEach(function (c) { byMarker[c.marker] = c; });
    var notes = {};
    var parts = String(body.answer).split(/(\[\d+\])/);
    parts.forEach(function (part) {
      var m = /^\[(\d+)\]$/.exec(part);
      var citation = m && byMarker[Number(m[1])];
      if (!citation) {
        msg.appendChild(document.createTextNode(part));
        return;
      }
      var button = el("button", { "class": "marker", type: "button", "aria-expanded": "false",
                                  "aria-label": t.sources + " " + citation.marker }, part);
      button.addEventListener("click", function () {
        var shown = notes[citation.marker];
        if (shown) {
          shown.remove();
          delete notes[citation.marker];
          button.setAttribute("aria-expanded", "false");
        } else {
          notes[citation.marker] = msg.appendChild(footnote(citation));
          button.setAttribute("aria-expanded", "true");
        }
      });
      msg.appendChild(button);
    });
  }

  function showError(msg, text, question) {
    msg.textContent = text;
    msg.classList.add("error");
    var retry = el("button", { "class": "retry", type: "button" }, t.retry);
    retry.addEventListener("click", function () {
      msg.remove();
      ask(question, true);
    });
    msg.appendChild(document.createElement("br"));
    msg.appendChild(retry);
    retry.focus();
  }

  function errorText(response, payload) {
    if (response.status === 429) {
      return format(t.errors.rate, { s: response.headers.get("Retry-After") || "30" });
    }
    if (response.status === 422 && payload && payload.message) {
      return format(t.errors.invalid, { message: payload.message });
    }
    return format(t.errors.server, { code: response.status });
  }

  // Reads Server-Sent Events from a fetch response: calls onEvent(name, data) for each one.
  function readEvents(response, onEvent, onActivity) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        onActivity();
        buffer += decoder.decode(chunk.value, { stream: true });
        var blocks = buffer.split("\n\n");
        buffer = blocks.pop();
        blocks.forEach(function (block) {
          var name = "message";
          var data = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
          });
          if (data) onEvent(name, JSON.parse(data));
        });
        return pump();
      });
    }
    return pump();
  }

  function requestHeaders() {
    var headers = { "Content-Type": "application/json", "Accept": "text/event-stream" };
    if (apiKey) headers["X-API-Key"] = apiKey;
    return headers;
  }

  function askBody(question) {
    var body = { question: question, history: history.slice(-6), stream: true };
    var filters = {};
    Object.keys(FILTERS).forEach(function (name) {
      var value = script ? (script.getAttribute(FILTERS[name]) || "").trim() : "";
      if (!value) return;
      filters[name] = name === "sources" || name === "doc_ids"
        ? value.split(",").map(function (v) { return v.trim(); }).filter(Boolean)
        : value;
    });
    if (Object.keys(filters).length) body.filters = filters;
    return body;
  }

  function ask(question, isRetry) {
    if (busy) return;
    busy = true;
    sendButton.disabled = true;
    if (!isRetry) addMessage("user", question);
    var msg = addMessage("bot", t.thinking);
    msg.setAttribute("aria-busy", "true");
    var controller = new AbortController();
    var timer = null;
    function idle() {  // the time limit counts from the last piece received
      clearTimeout(timer);
      timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    }
    idle();
    var final = null;
    var streamed = "";
    fetch(api + "/ask", {
      method: "POST",
      headers: requestHeaders(),
      body: JSON.stringify(askBody(question)),
      signal: controller.signal
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("text/event-stream") !== 0) {
        return response.json().catch(function () { return null; }).then(function (payload) {
          throw { shown: errorText(response, payload) };
        });
      }
      return readEvents(response, function (name, data) {
        if (name === "delta") {
          streamed += data.text;
          msg.textContent = streamed;
        } else if (name === "answer") {
          final = data;
        } else if (name === "error") {
          throw { shown: format(t.errors.server, { code: data.error }) };
        }
      }, idle);
    }).then(function () {
      if (!final || typeof final.answer !== "string") throw { shown: t.errors.cut };
      renderAnswer(msg, final);
      history.push({ role: "user", content: question },
                   { role: "assistant", content: final.answer });
    }).catch(function (error) {
      var text = error && error.shown ? error.shown :
        (error && error.name === "AbortError" ? t.errors.timeout :
         (streamed ? t.errors.cut : t.errors.network));
      showError(msg, text, question);
    }).then(function () {
      clearTimeout(timer);
      msg.removeAttribute("aria-busy");
      busy = false;
      sendButton.disabled = false;
      log.scrollTop = log.scrollHeight;
    });
  }

  launcher.addEventListener("click", function () { panel.hidden ? open() : close(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (!question || busy) return;
    input.value = "";
    ask(question, false);
  });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
