// llama.cpp (through node-llama-cpp) as the reference implementation for metagen's conformance tests and
// benchmarks. A long-running process speaking JSON lines: one request per stdin line, one response per stdout
// line, in order. Every request may carry an "id" that is echoed back. Failures answer {"error": "..."}; the
// process never exits on a bad request, only when stdin closes or on {"op":"exit"}.
//
//   {"op":"load","model":PATH,"contextSize":N,"threads":T,"vocabOnly":false,"kvCacheType":"F32","flashAttention":false}
//        kvCacheType: the K and V cache type (llama.cpp's default is F16, which rounds every cached key and value;
//        "F32" keeps them exact, for conformance); flashAttention: false (default) or true/"auto"
//        -> {"ok":true,"vocabSize":V,"architecture":"llama","bos":1,"eos":2}
//   {"op":"probs","tokens":[...],"steps":K,"top":N}
//        -> {"steps":[{"token":G,"ids":[...],"probs":[...]}, ...]}   K entries: entry 0 is the next-token
//           distribution after the prompt, entry i after the prompt plus the first i greedy tokens; "token" is
//           the greedy (argmax) token drawn from that distribution; ids/probs are the top N (all when top is 0),
//           sorted by descending probability.
//   {"op":"greedy","tokens":[...],"n":K}              -> {"tokens":[...]}   K greedy (temperature 0) tokens
//   {"op":"bench","model":PATH?,"prompt":P,"gen":G,"threads":T,"repetitions":R}
//        -> {"prefill_tokens_per_s":X,"decode_tokens_per_s":Y,"prompt":P,"gen":G,"threads":T,"repetitions":R}
//           best of R runs of: prefill P tokens in one evaluation, then G greedy decode steps, in a fresh context
//           with llama.cpp's default settings (F16 KV cache, flash attention "auto"), as users run it, unless
//           "kvCacheType" ("F32", "F16", ...) and "flashAttention" (true/false/"auto") say otherwise.
//   {"op":"bench_batch","model":PATH?,"prompt":P,"gen":G,"n":N,"threads":T,"repetitions":R,"kvCacheType"?,"flashAttention"?}
//        -> {"batch_decode_tokens_per_s":X,"n":N,...}   best of R runs: N sequences of one context each take the
//           same P-token prompt (node-llama-cpp cannot copy a sequence, so it is evaluated N times, untimed), then
//           G decode steps of all N sequences at once (node-llama-cpp batches their evaluations into one
//           llama_decode per step); X = N * G / the time of those steps.
//   {"op":"exit"}                                      -> {"ok":true}, then the process exits
//
// Each probs/greedy request starts from an empty sequence (the KV cache of the previous request is cleared), and
// an end-of-generation token is reported like any other token (generation does not stop there).
import {getLlama} from "node-llama-cpp";
import readline from "node:readline";

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});

let model = null;      // the loaded LlamaModel
let modelPath = null;
let context = null;    // a context with one sequence, for probs/greedy
let sequence = null;
let vocabSize = 0;

function send(obj) {
    process.stdout.write(JSON.stringify(obj) + "\n");
}

function requireInt(req, key, min, max) {
    const v = req[key];
    if (!Number.isInteger(v) || v < min || v > max)
        throw new Error(`"${key}" must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
    return v;
}

// llama.cpp aborts the process on an out-of-range token id, so ids are checked here first.
function requireTokens(req) {
    const t = req.tokens;
    if (!Array.isArray(t) || t.length === 0)
        throw new Error(`"tokens" must be a non-empty array of token ids`);
    for (const id of t)
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
            throw new Error(`token id ${JSON.stringify(id)} is outside the vocabulary [0, ${vocabSize})`);
    return t;
}

function requireContext() {
    if (sequence == null)
        throw new Error(model == null ? "no model loaded (send op=load first)" : "the model was loaded vocab-only; it cannot evaluate");
    return sequence;
}

function checkFits(tokens, steps) {
    if (tokens.length + steps > context.contextSize)
        throw new Error(`${tokens.length} prompt tokens + ${steps} steps exceed the context size ${context.contextSize}`);
}

async function unload() {
    if (context != null) await context.dispose();
    if (model != null) await model.dispose();
    model = modelPath = context = sequence = null;
    vocabSize = 0;
}

async function load(req) {
    if (typeof req.model !== "string") throw new Error(`"model" must be a path`);
    const contextSize = req.contextSize === undefined ? 512 : requireInt(req, "contextSize", 8, 1 << 20);
    const threads = req.threads === undefined ? 1 : requireInt(req, "threads", 1, 1024);
    await unload();
    model = await llama.loadModel({modelPath: req.model, vocabOnly: req.vocabOnly === true});
    modelPath = req.model;
    const tokens = model.fileInfo?.metadata?.tokenizer?.ggml?.tokens;
    vocabSize = Array.isArray(tokens) ? tokens.length : 0;
    if (vocabSize === 0) throw new Error(`${req.model}: no tokenizer.ggml.tokens array`);
    if (req.vocabOnly !== true) {
        const kv = req.kvCacheType ?? "F16";
        context = await model.createContext({contextSize, threads, batchSize: contextSize,
            flashAttention: req.flashAttention ?? false,
            experimentalKvCacheKeyType: kv, experimentalKvCacheValueType: kv});
        sequence = context.getSequence();
    }
    return {ok: true, vocabSize, architecture: model.fileInfo?.metadata?.general?.architecture ?? null,
        bos: model.tokens.bos, eos: model.tokens.eos};
}

async function probs(req) {
    const seq = requireContext();
    const tokens = requireTokens(req);
    const steps = requireInt(req, "steps", 1, 1 << 20);
    const top = req.top === undefined ? 10 : requireInt(req, "top", 0, 1 << 24);
    checkFits(tokens, steps);
    await seq.clearHistory();
    const out = [];
    for await (const r of seq.evaluateWithMetadata(tokens, {probabilities: true}, {temperature: 0, yieldEogToken: true})) {
        const ids = [], ps = [];
        for (const [id, p] of r.probabilities) {   // node-llama-cpp sorts by descending probability
            if (top > 0 && ids.length >= top) break;
            ids.push(id);
            ps.push(p);
        }
        out.push({token: r.token, ids, probs: ps});
        if (out.length >= steps) break;
    }
    return {steps: out};
}

async function greedy(req) {
    const seq = requireContext();
    const tokens = requireTokens(req);
    const n = requireInt(req, "n", 1, 1 << 20);
    checkFits(tokens, n);
    await seq.clearHistory();
    const out = [];
    for await (const t of seq.evaluate(tokens, {temperature: 0, yieldEogToken: true})) {
        out.push(t);
        if (out.length >= n) break;
    }
    return {tokens: out};
}

async function bench(req) {
    if (req.model !== undefined && req.model !== modelPath) await load({model: req.model, contextSize: 16});
    if (model == null) throw new Error("no model loaded (send op=load first or give \"model\")");
    const prompt = requireInt(req, "prompt", 1, 1 << 20);
    const gen = requireInt(req, "gen", 0, 1 << 20);
    const threads = req.threads === undefined ? 1 : requireInt(req, "threads", 1, 1024);
    const repetitions = req.repetitions === undefined ? 1 : requireInt(req, "repetitions", 1, 100);
    // a fixed, arbitrary prompt: BOS (when the model has one) then ids spread over the vocabulary
    const tokens = benchPrompt(prompt);
    const ctxSize = Math.max(64, prompt + gen + 8);
    const ctx = await model.createContext({contextSize: ctxSize, threads, batchSize: Math.max(prompt, 1),
        ...contextSettings(req)});
    try {
        const seq = ctx.getSequence();
        let bestPrefill = 0, bestDecode = 0;
        for (let r = 0; r < repetitions; r++) {
            await seq.clearHistory();
            let t0 = process.hrtime.bigint();
            await seq.evaluateWithoutGeneratingNewTokens(tokens);
            const prefillNs = Number(process.hrtime.bigint() - t0);
            bestPrefill = Math.max(bestPrefill, prompt / (prefillNs / 1e9));
            if (gen > 0) {
                // G single-token decode steps: the first feeds the prompt's last token again (what is fed does not
                // change the cost), each later one feeds the previous greedy token
                let produced = 0;
                t0 = process.hrtime.bigint();
                for await (const _ of seq.evaluate([tokens[tokens.length - 1]], {temperature: 0})) {
                    if (++produced >= gen) break;
                }
                const decodeNs = Number(process.hrtime.bigint() - t0);
                bestDecode = Math.max(bestDecode, gen / (decodeNs / 1e9));
            }
        }
        return {prefill_tokens_per_s: bestPrefill, decode_tokens_per_s: bestDecode, prompt, gen, threads, repetitions};
    } finally {
        await ctx.dispose();
    }
}

// the optional KV cache type and flash attention of a bench request (llama.cpp's defaults when absent)
function contextSettings(req) {
    const o = {};
    if (req.kvCacheType !== undefined) {
        o.experimentalKvCacheKeyType = req.kvCacheType;
        o.experimentalKvCacheValueType = req.kvCacheType;
    }
    if (req.flashAttention !== undefined) o.flashAttention = req.flashAttention;
    return o;
}

function benchPrompt(prompt) {
    const tokens = [];
    for (let i = 0; i < prompt; i++)
        tokens.push(i === 0 && model.tokens.bos != null ? model.tokens.bos : (i * 7919 + 13) % vocabSize);
    return tokens;
}

async function benchBatch(req) {
    if (req.model !== undefined && req.model !== modelPath) await load({model: req.model, contextSize: 16});
    if (model == null) throw new Error("no model loaded (send op=load first or give \"model\")");
    const prompt = requireInt(req, "prompt", 1, 1 << 20);
    const gen = requireInt(req, "gen", 1, 1 << 20);
    const n = requireInt(req, "n", 1, 256);
    const threads = req.threads === undefined ? 1 : requireInt(req, "threads", 1, 1024);
    const repetitions = req.repetitions === undefined ? 1 : requireInt(req, "repetitions", 1, 100);
    const tokens = benchPrompt(prompt);
    const ctx = await model.createContext({contextSize: Math.max(64, prompt + gen + 8), sequences: n, threads,
        batchSize: Math.max(prompt, n), ...contextSettings(req)});
    try {
        const seqs = [];
        for (let i = 0; i < n; i++) seqs.push(ctx.getSequence());
        let best = 0;
        for (let r = 0; r < repetitions; r++) {
            await Promise.all(seqs.map(s => s.clearHistory()));
            await Promise.all(seqs.map(s => s.evaluateWithoutGeneratingNewTokens(tokens)));
            const t0 = process.hrtime.bigint();
            await Promise.all(seqs.map(async s => {
                let produced = 0;
                for await (const _ of s.evaluate([tokens[tokens.length - 1]], {temperature: 0})) {
                    if (++produced >= gen) break;
                }
            }));
            const ns = Number(process.hrtime.bigint() - t0);
            best = Math.max(best, n * gen / (ns / 1e9));
        }
        return {batch_decode_tokens_per_s: best, n, prompt, gen, threads, repetitions};
    } finally {
        await ctx.dispose();
    }
}

const ops = {load, probs, greedy, bench, bench_batch: benchBatch};

// requests are handled strictly one at a time, in arrival order
let queue = Promise.resolve();
const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
rl.on("line", line => {
    queue = queue.then(async () => {
        if (line.trim() === "") return;
        let req;
        try {
            req = JSON.parse(line);
        } catch (e) {
            send({error: `bad JSON request: ${e.message}`});
            return;
        }
        const id = req?.id;
        try {
            if (req?.op === "exit") {
                send({id, ok: true});
                await unload();
                process.exit(0);
            }
            const op = ops[req?.op];
            if (op == null) throw new Error(`unknown op ${JSON.stringify(req?.op)} (load, probs, greedy, bench, bench_batch, exit)`);
            send({id, ...(await op(req))});
        } catch (e) {
            send({id, error: String(e?.message ?? e).replace(/\s+/g, " ")});
        }
    });
});
rl.on("close", () => queue.then(async () => {
    await unload();
    process.exit(0);
}));
