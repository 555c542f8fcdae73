// Runs a GGUF file in llama.cpp (node-llama-cpp's prebuilt CPU build, offline) and prints one JSON object.
//   node llama-cpp.mjs greedy FILE PROMPT N [IDS]   llama.cpp's tokens for PROMPT, then its N greedy tokens after IDS
//                                                   (comma-separated; the tokenized PROMPT when absent)
//   node llama-cpp.mjs speed FILE IDS N THREADS     N greedy tokens after IDS: the first token's time and the
//                                                   tokens per second after it
//   node llama-cpp.mjs info FILE                    the file's metadata (arrays as their lengths) and tensors, as
//                                                   node-llama-cpp's own GGUF reader reads them, and the chat
//                                                   format node-llama-cpp recognises in the file's chat template
import {getLlama, LlamaLogLevel, readGgufFileInfo, resolveChatWrapper} from "node-llama-cpp";

const [mode, file, ...args] = process.argv.slice(2);
const parseIds = text => text.split(",").filter(s => s.length > 0).map(Number);

async function loadModel() {
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 0});
    return llama.loadModel({modelPath: file});
}

// Greedy (temperature 0) continuation of ids, one token at a time, with each token's time since the start.
async function generate(model, ids, count, threads) {
    const context = await model.createContext({contextSize: Math.min(model.trainContextSize, 4096), threads});
    const sequence = context.getSequence();
    const tokens = [], times = [];
    const start = performance.now();
    for await (const token of sequence.evaluate(ids, {temperature: 0})) {
        tokens.push(token);
        times.push(performance.now() - start);
        if (tokens.length >= count) break;
    }
    await context.dispose();
    return {tokens, times};
}

function summary(value) {
    if (Array.isArray(value)) return {length: value.length};
    if (typeof value === "bigint") return Number(value);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, summary(v)]));
    return value;
}

if (mode === "greedy") {
    const [prompt, count, idText] = args;
    const model = await loadModel();
    const tokenized = Array.from(model.tokenize(prompt));
    const {tokens} = await generate(model, idText ? parseIds(idText) : tokenized, Number(count), 1);
    console.log(JSON.stringify({tokenized, generated: tokens, text: model.detokenize(tokens)}));
    await model.dispose();
} else if (mode === "speed") {
    const [idText, count, threads] = args;
    const model = await loadModel();
    const {tokens, times} = await generate(model, parseIds(idText), Number(count), Number(threads));
    const after = (times[times.length - 1] - times[0]) / 1000;
    console.log(JSON.stringify({tokens: tokens.length, threads: Number(threads), first_token_seconds: times[0] / 1000,
        tokens_per_second: (tokens.length - 1) / after}));
    await model.dispose();
} else if (mode === "info") {
    const info = await readGgufFileInfo(file, {readTensorInfo: true, logWarnings: false});
    const tensors = info.fullTensorInfo.map(t => ({name: t.name, dimensions: t.dimensions.map(Number), type: t.ggmlType}));
    const model = await loadModel();
    const chatWrapper = resolveChatWrapper(model)?.wrapperName ?? null;
    await model.dispose();
    console.log(JSON.stringify({version: info.version, metadata: summary(info.metadata),
        chat_template: info.metadata.tokenizer?.chat_template ?? null, chat_wrapper: chatWrapper, tensors}));
} else {
    console.error(`unknown mode ${mode}: greedy, speed or info`);
    process.exit(2);
}
