// Drives `llmforge serve` with the official `openai` npm package, as a user's program would.
//   node openai-client.mjs URL [KEY] [--prompt TEXT] [--max-tokens N]   list models, chat and completions (greedy),
//                                                                       non-streamed and streamed
//   node openai-client.mjs URL KEY --expect-401                          a missing and a wrong key are refused (401),
//                                                                       the right one is accepted
// Prints ONE JSON object on stdout (what the server answered); any failure: the error on stderr, exit 1.
import OpenAI from "openai";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    prompt: { type: "string", default: "Every effort moves you" },
    "max-tokens": { type: "string", default: "8" },
    "expect-401": { type: "boolean", default: false },
  },
});
const [rawUrl, key] = positionals;
const url = rawUrl?.replace(/\/+$/, ""); // "http://host:port/" or without the slash
if (!url) {
  console.error("usage: node openai-client.mjs URL [KEY] [--prompt TEXT] [--max-tokens N] [--expect-401]");
  process.exit(2);
}

// No retries: a refused or failed request must show, not be hidden by a second try.
const client = (apiKey, defaultHeaders) =>
  new OpenAI({ baseURL: url + "/v1", apiKey, defaultHeaders, maxRetries: 0, timeout: 60_000 });

async function expect401() {
  if (!key) throw new Error("--expect-401 needs the server's KEY (to check that the right key is accepted)");
  const refused = async (openai) => {
    try {
      await openai.models.list();
    } catch (error) {
      if (error instanceof OpenAI.AuthenticationError && error.status === 401) {
        return { status: error.status, error: error.constructor.name, message: error.error?.message ?? error.message, code: error.code ?? null };
      }
      throw error;
    }
    throw new Error("the server accepted a request it should have refused with 401");
  };
  return {
    // The package always sends a key; `Authorization: null` leaves the header out.
    without_key: await refused(client("unused", { Authorization: null })),
    wrong_key: await refused(client(key + "-wrong")),
    right_key: { models: (await client(key).models.list()).data.map((m) => m.id) },
  };
}

async function talk() {
  const openai = client(key ?? "none");
  const models = (await openai.models.list()).data;
  const model = models[0].id;
  const prompt = values.prompt;
  const sampling = { model, max_tokens: Number(values["max-tokens"]), temperature: 0 };
  const messages = [{ role: "user", content: prompt }];

  const completion = await openai.completions.create({ ...sampling, prompt });
  const completionStream = await collect(
    await openai.completions.create({ ...sampling, prompt, stream: true, stream_options: { include_usage: true } }),
    (choice) => choice.text,
  );
  const chat = await openai.chat.completions.create({ ...sampling, messages });
  const chatStream = await collect(
    await openai.chat.completions.create({ ...sampling, messages, stream: true, stream_options: { include_usage: true } }),
    (choice) => choice.delta?.content,
  );
  return {
    models: models.map((m) => m.id),
    model_entries: models,
    completion: {
      object: completion.object,
      model: completion.model,
      text: completion.choices[0].text,
      finish_reason: completion.choices[0].finish_reason,
      usage: completion.usage,
    },
    completion_stream: completionStream,
    chat: {
      object: chat.object,
      model: chat.model,
      role: chat.choices[0].message.role,
      content: chat.choices[0].message.content,
      finish_reason: chat.choices[0].finish_reason,
      usage: chat.usage,
    },
    chat_stream: chatStream,
  };
}

// Joins a stream's pieces and counts its chunks; the usage chunk (choices []) comes last.
async function collect(stream, pieceOf) {
  const result = { text: "", chunks: 0, content_chunks: 0, objects: [], finish_reasons: [], usage: null, usage_chunk_last: false };
  for await (const chunk of stream) {
    result.chunks++;
    if (!result.objects.includes(chunk.object)) result.objects.push(chunk.object);
    result.usage_chunk_last = false;
    if (chunk.usage) {
      result.usage = chunk.usage;
      result.usage_chunk_last = chunk.choices.length === 0;
    }
    for (const choice of chunk.choices) {
      const piece = pieceOf(choice);
      if (piece) {
        result.text += piece;
        result.content_chunks++;
      }
      if (choice.finish_reason) result.finish_reasons.push(choice.finish_reason);
    }
  }
  return result;
}

try {
  const result = values["expect-401"] ? await expect401() : await talk();
  console.log(JSON.stringify(result));
} catch (error) {
  console.error(`openai-client: ${error.constructor.name}${error.status ? " " + error.status : ""}: ${error.message}`);
  process.exit(1);
}
