// Renders chat templates with @huggingface/jinja (the Jinja implementation of transformers.js, installed with
// node-llama-cpp), as a second reference for metagen's chat template tests beside llama.cpp.
//
// Protocol: one JSON object on stdin,
//   {"templates": [{"name": "...", "source": "..."}], "conversations": {"NAME": {"messages": [...], "tools": [...]}},
//    "bos_token": "<s>", "eos_token": "</s>"}
// and one JSON object on stdout: {"TEMPLATE": {"CONVERSATION": {"text": "..."} or {"error": "..."}}}.
// Messages are in the Hugging Face shape (tool call arguments as objects); add_generation_prompt is true.
// raise_exception is built into @huggingface/jinja; strftime_now is added here.
import {Template} from "@huggingface/jinja";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const job = JSON.parse(Buffer.concat(chunks).toString("utf8"));

function strftime_now(format) {
    const d = new Date();
    const months = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December"];
    const pad = (n) => String(n).padStart(2, "0");
    return format.replace(/%([dmYbByHMS])/g, (_, c) => ({
        d: pad(d.getDate()), m: pad(d.getMonth() + 1), Y: String(d.getFullYear()), y: pad(d.getFullYear() % 100),
        b: months[d.getMonth()].slice(0, 3), B: months[d.getMonth()], H: pad(d.getHours()), M: pad(d.getMinutes()),
        S: pad(d.getSeconds()),
    })[c]);
}

const out = {};
for (const t of job.templates) {
    out[t.name] = {};
    let template = null;
    let parseError = null;
    try {
        template = new Template(t.source);
    } catch (e) {
        parseError = "parse: " + e.message;
    }
    for (const [name, conv] of Object.entries(job.conversations)) {
        if (template == null) {
            out[t.name][name] = {error: parseError};
            continue;
        }
        const vars = {messages: conv.messages, add_generation_prompt: true, bos_token: job.bos_token,
            eos_token: job.eos_token, strftime_now};
        if (conv.tools != null) vars.tools = conv.tools;
        try {
            out[t.name][name] = {text: template.render(vars)};
        } catch (e) {
            out[t.name][name] = {error: String(e.message)};
        }
    }
}
process.stdout.write(JSON.stringify(out));
