// Loads each GGUF given on the command line in llama.cpp (node-llama-cpp, CPU) and prints, as one JSON line per
// model, the top-5 next-token probabilities after the token ids of METAGEN_IDS (default "1 5 6 7"), and the
// greedy continuation of 8 tokens. Used to check that synthesized models load and agree with metagen.
import {getLlama} from "node-llama-cpp";

const ids = (process.env.METAGEN_IDS ?? "1 5 6 7").trim().split(/\s+/).map(Number);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
for (const path of process.argv.slice(2)) {
    try {
        const model = await llama.loadModel({modelPath: path});
        const ctx = await model.createContext({contextSize: 64, threads: 1});
        const seq = ctx.getSequence();
        const top = [];
        const greedy = [];
        let first = true;
        for await (const r of seq.evaluateWithMetadata(ids, {probabilities: true}, {temperature: 0})) {
            if (first) {
                for (const [id, p] of [...r.probabilities.entries()].slice(0, 5)) top.push([id, p]);
                first = false;
            }
            greedy.push(r.token);
            if (greedy.length >= 8) break;
        }
        console.log(JSON.stringify({path, ok: true, top, greedy}));
        await ctx.dispose();
        await model.dispose();
    } catch (e) {
        console.log(JSON.stringify({path, ok: false, error: String(e)}));
    }
}
