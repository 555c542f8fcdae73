"use strict";
// The LlmForge page. It talks to the server's OpenAI-compatible API only (/v1/*), as any other client would.
// Model text is always written with textContent / append, never as HTML.

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "llmforge.apiKey";

let apiKey = localStorage.getItem(KEY_STORAGE) || "";
let model = null;        // the /v1/models entry in use
let conversation = [];   // the chat so far, for instruction models
let controller = null;   // aborts the running generation (Stop)

// An error answered by the API: its HTTP status and the message of its error object.
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, body, signal) {
  const headers = {};
  if (apiKey) headers.Authorization = "Bearer " + apiKey;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  return response;
}

// OpenAI errors are {"error":{"message":...}}, Ollama's {"error":"..."}; anything else is shown as it came.
async function errorMessage(response) {
  const text = await response.text();
  try {
    const error = JSON.parse(text).error;
    if (typeof error === "string") return error;
    if (error && error.message) return error.message;
  } catch {
    // not JSON
  }
  return text || `HTTP ${response.status}`;
}

function showError(error) {
  if (error.status === 401) {
    $("key-form").hidden = false;
    $("api-key").value = "";
    $("api-key").focus();
    const what = apiKey ? "The API key was refused" : "This server needs an API key";
    setStatus(`${what} (${error.message})`, "error");
    return;
  }
  const prefix = error.status ? `Error ${error.status}: ` : "Error: ";
  setStatus(prefix + error.message, "error");
}

async function loadModel() {
  try {
    const list = await (await api("v1/models")).json();
    model = list.data && list.data[0];
    if (!model) throw new Error("the server lists no model");
  } catch (error) {
    showError(error);
    return;
  }
  $("key-form").hidden = true;
  $("model").textContent = `${model.id} · ${model.kind} · context ${model.context_length} tokens`;
  if (model.kind === "classifier") {
    $("classify").hidden = false;
  } else {
    const chat = model.kind === "instruction";
    document.body.classList.toggle("chat", chat);
    $("prompt").placeholder = chat ? "Type a message (Enter sends, Shift+Enter for a new line)" : "Type a prompt to continue (Ctrl+Enter sends)";
    // The server refuses prompt + max_tokens beyond the context: a small model's default leaves room for the prompt.
    $("max-tokens").max = model.context_length - 1;
    $("max-tokens").value = Math.min(100, Math.floor(model.context_length / 2));
    $("generate").hidden = false;
  }
  setStatus("Ready");
}

// A number from an input, kept within [min, max]; the clamped value is written back so the user sees it.
function numberField(id, min, max, fallback) {
  let value = parseFloat($(id).value);
  if (Number.isNaN(value)) value = fallback;
  value = Math.min(max, Math.max(min, value));
  $(id).value = value;
  return value;
}

function sampling() {
  const options = {
    temperature: numberField("temperature", 0, 5, 0.8),
    top_p: numberField("top-p", 0.01, 1, 1), // the server takes (0, 1]
    max_tokens: Math.round(numberField("max-tokens", 1, model.context_length - 1, 100)),
  };
  const topK = Math.round(numberField("top-k", 0, 1e6, 40));
  if (topK > 0) options.top_k = topK; // 0 means no top-k cut
  return options;
}

// Parses a server-sent event stream: yields each `data: {...}` as an object, ends at `data: [DONE]`.
async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended before [DONE]");
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (!line.startsWith("data:")) continue; // blank separators, comments
      const data = line.slice(5).trim();
      if (data === "[DONE]") {
        reader.cancel();
        return;
      }
      yield JSON.parse(data);
    }
  }
}

function addMessage(role, text) {
  const message = element("div", "message " + role);
  message.append(element("span", "role", role === "user" ? "You" : "Model"));
  const content = element("span", role === "assistant" ? "content reply" : "content", text);
  message.append(content);
  $("output").append(message);
  return content;
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").disabled = !busy;
}

async function generate() {
  const text = $("prompt").value;
  if (controller || !text.trim()) return;
  const chat = model.kind === "instruction";
  const body = { model: model.id, stream: true, stream_options: { include_usage: true }, ...sampling() };
  const turns = conversation; // Clear starts a new array: a stopped answer must not land in it
  let reply;
  if (chat) {
    turns.push({ role: "user", content: text });
    body.messages = turns.slice();
    addMessage("user", text);
    reply = addMessage("assistant", "");
    $("prompt").value = "";
  } else {
    body.prompt = text;
    reply = element("span", "reply");
    $("output").replaceChildren(element("span", "echo", text), reply);
  }

  controller = new AbortController();
  setBusy(true);
  setStatus("Generating…");
  $("rate").textContent = "";
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let chunks = 0;
  let usage = null;
  let finish = null;
  try {
    const response = await api(chat ? "v1/chat/completions" : "v1/completions", body, controller.signal);
    for await (const chunk of sseEvents(response)) {
      if (chunk.error) throw new ApiError(0, chunk.error.message || String(chunk.error));
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) continue;
      const piece = chat ? (choice.delta && choice.delta.content) || "" : choice.text || "";
      if (piece) {
        reply.append(piece);
        chunks++;
        $("rate").textContent = `${(chunks / seconds()).toFixed(1)} chunks/s`;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    const elapsed = seconds();
    $("rate").textContent = usage
      ? `${(usage.completion_tokens / elapsed).toFixed(1)} tokens/s (${usage.completion_tokens} tokens in ${elapsed.toFixed(2)} s)`
      : `${(chunks / elapsed).toFixed(1)} chunks/s (${chunks} chunks in ${elapsed.toFixed(2)} s)`;
    setStatus(finish === "length" ? "Done: reached max tokens" : "Done");
    if (chat) turns.push({ role: "assistant", content: reply.textContent });
  } catch (error) {
    if (error.name === "AbortError") {
      const elapsed = seconds();
      $("rate").textContent = `${(chunks / elapsed).toFixed(1)} chunks/s (${chunks} chunks in ${elapsed.toFixed(2)} s)`;
      setStatus(`Stopped after ${chunks} chunks`, "stopped");
      if (chat) turns.push({ role: "assistant", content: reply.textContent });
    } else {
      showError(error);
      if (chat) {
        turns.pop(); // the failed turn is not part of the conversation
        reply.parentElement.classList.add("failed");
      }
    }
  } finally {
    controller = null;
    setBusy(false);
  }
}

async function classify() {
  const text = $("classify-input").value;
  if (!text.trim()) return;
  $("classify-send").disabled = true;
  setStatus("Classifying…");
  try {
    const result = await (await api("v1/classify", { model: model.id, input: text })).json();
    showClassification(result.data[0]);
    setStatus("Classified");
  } catch (error) {
    showError(error);
  } finally {
    $("classify-send").disabled = false;
  }
}

function showClassification(item) {
  const heading = element("p", "", "Label: ");
  const label = element("strong", "", item.label);
  label.id = "classify-label";
  heading.append(label);
  const table = element("table");
  const names = model.labels || Object.keys(item.probabilities);
  for (const name of names) {
    const p = item.probabilities[name] ?? 0;
    const row = element("tr", name === item.label ? "winner" : "");
    const bar = element("div", "bar");
    bar.style.width = `${(p * 100).toFixed(1)}%`;
    const barCell = element("td", "bar-cell");
    barCell.append(bar);
    row.append(element("td", "", name), barCell, element("td", "number", `${(p * 100).toFixed(1)}%`));
    table.append(row);
  }
  $("classify-result").replaceChildren(heading, table);
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey = $("api-key").value.trim();
  localStorage.setItem(KEY_STORAGE, apiKey);
  setStatus("Checking the key…");
  loadModel();
});

$("prompt-form").addEventListener("submit", (event) => {
  event.preventDefault();
  generate();
});

$("prompt").addEventListener("keydown", (event) => {
  const chatEnter = document.body.classList.contains("chat") && !event.shiftKey;
  if (event.key === "Enter" && (chatEnter || event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    $("prompt-form").requestSubmit();
  }
});

$("stop").addEventListener("click", () => controller && controller.abort());

$("clear").addEventListener("click", () => {
  if (controller) controller.abort();
  conversation = [];
  $("output").replaceChildren();
  $("rate").textContent = "";
});

$("classify-form").addEventListener("submit", (event) => {
  event.preventDefault();
  classify();
});

loadModel();
