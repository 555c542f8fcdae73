// Drives `llmforge serve` with the `ollama` npm package, as a user's program would.
//   node ollama-client.mjs URL [KEY] [--prompt TEXT] [--max-tokens N]
// Lists the models (/api/tags), then generate and chat, each non-streamed and streamed, greedy
// (temperature 0, num_predict N). Prints ONE JSON object on stdout; any failure: the error on stderr, exit 1.
import { Ollama } from "ollama";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: "string", default: "Every effort moves you" },
    "max-tokens": { type: "string", default: "8" },
  },
});
const [rawUrl, key] = positionals;
const url = rawUrl?.replace(/\/+$/, ""); // "http://host:port/" or without the slash
if (!url) {
  console.error("usage: node ollama-client.mjs URL [KEY] [--prompt TEXT] [--max-tokens N]");
  process.exit(2);
}

const ollama = new Ollama({ host: url, headers: key ? { Authorization: `Bearer ${key}` } : undefined });
const options = { temperature: 0, num_predict: Number(values["max-tokens"]) };

// The counts of a final (done) answer, without the durations, which change from run to run.
const counts = (last) => ({
  done: last.done,
  done_reason: last.done_reason,
  prompt_eval_count: last.prompt_eval_count,
  eval_count: last.eval_count,
  has_total_duration: typeof last.total_duration === "number",
});

async function collect(stream, pieceOf) {
  const result = { text: "", parts: 0, content_parts: 0, final: null };
  for await (const part of stream) {
    result.parts++;
    const piece = pieceOf(part);
    if (piece) {
      result.text += piece;
      result.content_parts++;
    }
    if (part.done) result.final = counts(part);
  }
  if (!result.final) throw new Error("the stream ended without a done:true line");
  return result;
}

try {
  const tags = await ollama.list();
  const name = tags.models[0].name;
  const prompt = values.prompt;
  const messages = [{ role: "user", content: prompt }];

  const generate = await ollama.generate({ model: name, prompt, options, stream: false });
  const generateStream = await collect(await ollama.generate({ model: name, prompt, options, stream: true }), (p) => p.response);
  const chat = await ollama.chat({ model: name, messages, options, stream: false });
  const chatStream = await collect(await ollama.chat({ model: name, messages, options, stream: true }), (p) => p.message?.content);
  console.log(JSON.stringify({
    models: tags.models.map((m) => m.name),
    generate: { model: generate.model, text: generate.response, ...counts(generate) },
    generate_stream: generateStream,
    chat: { model: chat.model, role: chat.message.role, text: chat.message.content, ...counts(chat) },
    chat_stream: chatStream,
  }));
} catch (error) {
  // Ollama's errors are {"error":"message"}; an error object of another shape is shown whole.
  const message = typeof error.error === "object" ? JSON.stringify(error.error) : error.message;
  console.error(`ollama-client: ${error.constructor.name}${error.status_code ? " " + error.status_code : ""}: ${message}`);
  process.exit(1);
}
