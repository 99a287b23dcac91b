// The web page of `spanqa serve`: ask, show the answer in its passage, vote, correct; show Insights.
// Plain JavaScript, no build step. Answer text is put in with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const USER_KEY = "spanqa-user";
const TOKEN_KEY = "spanqa-token";

function userId() {
  let id = localStorage.getItem(USER_KEY);
  if (!id) {
    id = "web-" + Math.random().toString(36).slice(2, 12);
    localStorage.setItem(USER_KEY, id);
  }
  return id;
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const token = $("token").value.trim();
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}

async function call(method, path, body) {
  const response = await fetch(path, { method, headers: headers(), body: body ? JSON.stringify(body) : undefined });
  if (response.status === 401) $("token-box").open = true;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error((data && data.error) || "The server answered " + response.status + ".");
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function confidence(span) {
  return `${span.confidence} confidence (${Math.round(span.score * 100)}%)`;
}

function sourceLink(source) {
  const name = source.title || source.path;
  if (source.url && /^https?:\/\//.test(source.url)) return el("a", { href: source.url, target: "_blank", rel: "noopener" }, name);
  if (name === source.path) return el("span", {}, name);
  return el("span", { title: source.path }, name, " ", el("span", { class: "path" }, "(" + source.path + ")"));
}

// The passage with the span marked: text before, <mark>span</mark>, text after.
function passageWithMark(span) {
  const text = span.passage_text;
  return el("blockquote", { class: "passage" },
    text.slice(0, span.start_char), el("mark", {}, text.slice(span.start_char, span.end_char)), text.slice(span.end_char));
}

function showResult(result) {
  const box = $("result");
  box.replaceChildren();
  box.hidden = false;
  box.append(el("p", { class: "asked" }, "Q: " + result.question));
  if (result.answered) {
    const a = result.answer;
    box.append(
      el("h2", { id: "result-heading", class: "answer" }, a.text),
      el("p", { class: "meta" }, el("span", { class: "confidence " + a.confidence }, confidence(a)), " · from ", sourceLink(a.source)),
      passageWithMark(a),
    );
  } else {
    box.append(el("h2", { id: "result-heading", class: "unknown" }, "I don't know"),
      el("p", {}, "No passage in the knowledge base holds an answer."));
    const t = result.tentative;
    if (t) {
      box.append(el("p", { class: "meta" }, el("strong", {}, "Not sure"), ` (${confidence(t)}): the closest passage says, in `, sourceLink(t.source), ":"),
        passageWithMark(t));
    }
    if (result.closest_sources.length) {
      box.append(el("h3", {}, "Closest sources"), el("ul", { class: "sources" }, ...result.closest_sources.map((s) => el("li", {}, sourceLink(s)))));
    }
  }
  if (result.candidates.length) {
    box.append(el("details", { class: "candidates" }, el("summary", {}, `Other candidates (${result.candidates.length})`),
      el("ol", {}, ...result.candidates.map((c) => el("li", {}, el("strong", {}, c.text), ` — ${confidence(c)}, `, sourceLink(c.source))))));
  }
  box.append(feedback(result));
  box.focus();
}

function feedback(result) {
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const helpful = el("button", { type: "button", class: "vote", "data-vote": "helpful" }, "Helpful");
  const notHelpful = el("button", { type: "button", class: "vote", "data-vote": "not_helpful" }, "Not helpful");
  const correction = correctionForm(result, status);
  const vote = async (button) => {
    try {
      const saved = await call("POST", "/feedback/vote", { answer_id: result.answer_id, vote: button.dataset.vote, user: userId() });
      for (const b of [helpful, notHelpful]) b.setAttribute("aria-pressed", String(b === button));
      status.textContent = saved.saved;
      if (button === notHelpful) { correction.hidden = false; correction.querySelector("input").focus(); }
    } catch (error) {
      status.textContent = error.message;
    }
  };
  helpful.addEventListener("click", () => vote(helpful));
  notHelpful.addEventListener("click", () => vote(notHelpful));
  return el("div", { class: "feedback" }, el("span", {}, "Was this helpful?"), helpful, notHelpful, status, correction);
}

function correctionForm(result, status) {
  const id = "fix-" + result.answer_id;
  const text = el("input", { id, type: "text", maxlength: "2000", placeholder: "The right answer, as the documents say it" });
  const none = el("input", { id: id + "-none", type: "checkbox" });
  const form = el("form", { class: "correction", hidden: "" },
    el("label", { for: id }, "What is the right answer?"), text,
    el("label", { class: "inline" }, none, " The documents don't answer this"),
    el("button", { type: "submit" }, "Send correction"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = await call("POST", "/feedback/correction",
        { answer_id: result.answer_id, text: text.value.trim() || null, no_answer: none.checked, user: userId() });
      status.textContent = saved.saved;
      form.hidden = true;
    } catch (error) {
      status.textContent = error.message;
    }
  });
  return form;
}

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) { $("status").textContent = "Type a question first."; return; }
  $("ask-button").disabled = true;
  $("status").textContent = "Reading the documents…";
  try {
    showResult(await call("POST", "/ask", { question, user: userId() }));
    $("status").textContent = "";
  } catch (error) {
    $("status").textContent = error.message;
  } finally {
    $("ask-button").disabled = false;
  }
}

async function showInsights() {
  $("insights-status").textContent = "Loading…";
  try {
    const page = new DOMParser().parseFromString(await call("GET", "/insights"), "text/html");
    $("insights-body").replaceChildren(...page.body.childNodes);
    $("insights-status").textContent = "";
  } catch (error) {
    $("insights-status").textContent = error.message;
  }
}

function select(tab) {
  for (const name of ["ask", "insights"]) {
    const on = name === tab;
    $("tab-" + name).setAttribute("aria-selected", String(on));
    $("tab-" + name).tabIndex = on ? 0 : -1;
    $("view-" + name).hidden = !on;
  }
  if (tab === "insights") showInsights(); else $("question").focus();
  history.replaceState(null, "", tab === "insights" ? "#insights" : "#");
}

document.addEventListener("DOMContentLoaded", () => {
  $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
  $("token").addEventListener("change", () => sessionStorage.setItem(TOKEN_KEY, $("token").value.trim()));
  $("ask-form").addEventListener("submit", ask);
  $("tab-ask").addEventListener("click", () => select("ask"));
  $("tab-insights").addEventListener("click", () => select("insights"));
  for (const tab of ["tab-ask", "tab-insights"]) {  // arrow keys move between tabs
    $(tab).addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") { select(tab === "tab-ask" ? "insights" : "ask"); $(tab === "tab-ask" ? "tab-insights" : "tab-ask").focus(); }
    });
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && document.activeElement.tagName !== "INPUT") { e.preventDefault(); select("ask"); }
  });
  if (location.hash === "#insights") select("insights");
});
