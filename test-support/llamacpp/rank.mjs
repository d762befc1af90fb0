// llama.cpp's ranking / classification output (through node-llama-cpp's LlamaRankingContext) for metagen's score-head
// conformance test. One request as JSON on stdin, one answer as JSON on stdout:
//
//   {"model":PATH,"contextSize":N,"sequences":[[ids...], ...],"pairs":[{"query":[ids],"document":[ids]}, ...]}
//   -> {"labels":[...],"sequences":[[score, ...], ...],
//       "pairs":[{"input":[ids],"rank":R,"scores":[...]}, ...]}
//
// "sequences": each token list is evaluated as one fresh sequence in a ranking context (llama.cpp's RANK pooling),
// and the whole pooled output vector (n_cls_out values, as llama_get_embeddings_seq returns it) is reported.
// "pairs": the public rank(query, document) score, with the input sequence the ranking context built for it
// (its template, or BOS query EOS SEP document EOS) and that input's full output vector.
import {getLlama} from "node-llama-cpp";

const chunks = [];
for await (const c of process.stdin)
    chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: req.model});
const ranking = await model.createRankingContext({contextSize: req.contextSize ?? 256, threads: 1});
const labels = model.fileInfo.metadata?.[model.fileInfo.metadata?.general?.architecture]?.classifier?.output_labels ?? [];

// the ranking context evaluates one sequence and reads its pooled output; this is its own path, with the whole vector
async function vector(input) {
    const seq = ranking._sequence;
    await seq.eraseContextTokenRanges([{start: 0, end: seq.nextTokenIndex}]);
    const it = seq.evaluate(input, {_noSampling: true});
    for await (const t of it)
        break;
    return Array.from(ranking._llamaContext._ctx.getEmbedding(input.length));
}

const out = {labels, sequences: [], pairs: []};
for (const s of req.sequences ?? [])
    out.sequences.push(await vector(s));
for (const p of req.pairs ?? []) {
    const input = ranking._getEvaluationInput(p.query, p.document);
    const rank = await ranking.rank(p.query, p.document);
    out.pairs.push({input, rank, scores: await vector(input)});
}
process.stdout.write(JSON.stringify(out) + "\n");
await ranking.dispose();
await model.dispose();
process.exit(0);
