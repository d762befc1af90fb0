#!/usr/bin/env python3
"""Renders the tool conversations of tool-goldens/conversations.json with Python Jinja2 exactly as Hugging Face
transformers applies a chat template (its environment, tojson and globals), writing one golden per template and
conversation under metagen-engine/src/test/resources/tool-goldens. Run from the repository root:
    python3 test-support/chat-templates/make_tool_goldens.py /path/to/chat-templates
Only needed to regenerate the checked-in goldens; tests read the goldens."""
import json, os, sys
from datetime import datetime
import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, "..", "..", "metagen-engine", "src", "test", "resources", "tool-goldens")
templates_dir = sys.argv[1]
spec = json.load(open(os.path.join(out_dir, "conversations.json")))

def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' tojson: json.dumps without HTML escaping
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

def strftime_now(fmt):
    return datetime(2024, 7, 26).strftime(fmt)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

def hf_messages(messages):
    out = []
    for m in messages:
        m = dict(m)
        if "tool_calls" in m:
            calls = []
            for c in m["tool_calls"]:
                c = json.loads(json.dumps(c))
                c["function"]["arguments"] = json.loads(c["function"]["arguments"])  # transformers passes dicts
                calls.append(c)
            m["tool_calls"] = calls
        out.append(m)
    return out

os.makedirs(out_dir, exist_ok=True)
for name, tokens in spec["templates"].items():
    template = env.from_string(open(os.path.join(templates_dir, name), encoding="utf-8").read())
    for conv, messages in spec["conversations"].items():
        try:
            text = template.render(messages=hf_messages(messages), tools=spec["tools"], add_generation_prompt=True,
                                   **tokens, **spec["extra_variables"])
        except (jinja2.exceptions.TemplateError, TypeError) as e:
            text = "ERROR: " + str(e)
        with open(os.path.join(out_dir, name[:-len(".jinja")] + "." + conv + ".txt"), "w", encoding="utf-8", newline="") as f:
            f.write(text)
print("jinja2", jinja2.__version__)
