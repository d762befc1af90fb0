// Tokenizes with llama.cpp (through node-llama-cpp), for metagen's tokenizer tests.
//
// Protocol: one JSON object per line on stdin,
//   {"model": "/path/to/file.gguf", "texts": ["...", ...], "addSpecial": false, "parseSpecial": false}
// and one JSON line per request on stdout: {"ids": [[...], ...]} (or {"error": "..."}).
// A request {"model": "...", "detokenize": [[ids...], ...]} answers {"texts": [...]}: llama.cpp's
// llama_detokenize(remove_special = false, unparse_special = false) of each id list.
// Models are loaded vocab-only and kept for later requests.
//
// Semantics, made explicit: node-llama-cpp's model.tokenize(text, specialTokens) calls llama.cpp's
// common_tokenize(vocab, text, add_special = false, parse_special = specialTokens). llama.cpp's add_special only
// prepends BOS when llama_vocab_get_add_bos() and appends EOS when llama_vocab_get_add_eos() (for SPM and BPE
// vocabularies it changes nothing else), so addSpecial is done here the same way from the model's own flags.
import {getLlama} from "node-llama-cpp";
import readline from "node:readline";

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const models = new Map();

async function load(path) {
    let model = models.get(path);
    if (model == null) {
        model = await llama.loadModel({modelPath: path, vocabOnly: true});
        models.set(path, model);
    }
    return model;
}

function tokenize(model, text, addSpecial, parseSpecial) {
    const ids = text === "" ? [] : Array.from(model.tokenize(text, parseSpecial));
    if (addSpecial) {
        if (model.tokens.shouldPrependBosToken && model.tokens.bos != null) {
            ids.unshift(model.tokens.bos);
        }
        if (model.tokens.shouldAppendEosToken && model.tokens.eos != null) {
            ids.push(model.tokens.eos);
        }
    }
    return ids;
}

const input = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
for await (const line of input) {
    if (line.trim() === "") {
        continue;
    }
    let reply;
    try {
        const request = JSON.parse(line);
        const model = await load(request.model);
        if (request.detokenize != null) {
            reply = {texts: request.detokenize.map(ids => model.detokenize(ids, false))};
        } else {
            reply = {ids: request.texts.map(t => tokenize(model, t, !!request.addSpecial, !!request.parseSpecial))};
        }
    } catch (e) {
        reply = {error: String(e && e.stack || e)};
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
}
