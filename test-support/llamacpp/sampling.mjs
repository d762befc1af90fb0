// llama.cpp's sampler chain as the reference for metagen-decoding's sampling tests. Reads one JSON request per
// stdin line, answers one JSON line each, in order:
//   {"model":PATH,"prefixes":[[ids...], ...],"options":{temperature,topK,topP,minP,xtc,repeatPenalty...}}
//     -> {"steps":[{"ids":[...],"probs":[...]}, ...]}   for each prefix, the candidate set after llama.cpp's
//        chain (token bias, penalties, top-k, top-p, min-p, XTC, temperature) and its softmax, as node-llama-cpp
//        reports it with {probabilities: true}; candidates with probability 0 are left out.
//   with "logits": true, "probs" holds the raw logits of every token instead (node-llama-cpp's {logits: true}).
// "repeatPenalty" punishes the whole prefix (punishTokens = prefix). Failures answer {"error": "..."}.
import {getLlama} from "node-llama-cpp";
import readline from "node:readline";

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const models = new Map();

async function sequenceFor(path) {
    if (!models.has(path)) {
        const model = await llama.loadModel({modelPath: path});
        // F32 KV cache and no flash attention: with the defaults llama.cpp's logits move by ~1e-2 late in a
        // sequence, enough to flip a candidate at a cutoff; like this they agree with metagen's to ~1e-5
        const context = await model.createContext({contextSize: 512, threads: 1, batchSize: 512, flashAttention: false,
            experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"});
        models.set(path, context.getSequence());
    }
    return models.get(path);
}

async function handle(req) {
    const seq = await sequenceFor(req.model);
    const steps = [];
    for (const prefix of req.prefixes) {
        await seq.clearHistory();
        const options = {...req.options};
        if (options.repeatPenalty != null) options.repeatPenalty = {...options.repeatPenalty, punishTokens: prefix};
        if (req.logits === true) {
            // controlledEvaluate is node-llama-cpp's only way to the raw logits
            const input = [...prefix.slice(0, -1), [prefix[prefix.length - 1], {generateNext: {logits: true, options}}]];
            const out = await seq.controlledEvaluate(input);
            const logits = out[prefix.length - 1].next.logits;
            steps.push({ids: [...logits.keys()], probs: [...logits.values()]});
            continue;
        }
        for await (const r of seq.evaluateWithMetadata(prefix, {probabilities: true}, options)) {
            const ids = [], probs = [];
            for (const [id, p] of r.probabilities) {
                if (p > 0) {
                    ids.push(id);
                    probs.push(p);
                }
            }
            steps.push({ids, probs, token: r.token});
            break;
        }
    }
    return {steps};
}

let queue = Promise.resolve();
const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on("line", line => {
    queue = queue.then(async () => {
        if (line.trim() === "") return;
        try {
            process.stdout.write(JSON.stringify(await handle(JSON.parse(line))) + "\n");
        } catch (e) {
            process.stdout.write(JSON.stringify({error: String(e?.message ?? e).replace(/\s+/g, " ")}) + "\n");
        }
    });
});
rl.on("close", () => queue.then(() => process.exit(0)));
