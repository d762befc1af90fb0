package dev.metagen.server;

import dev.metagen.runtime.LeafGenerators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.control.ConstraintSpec;
import dev.metagen.control.TokenConstraint;
import dev.metagen.control.grammar.CompileBudget;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.SamplingConfig;
import dev.metagen.meta.spec.SpecCost;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.tools.Sandbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks and compiles one request body (OpenAI fields plus the vLLM / llama.cpp sampling extras and
 * {@code strategy}). Every problem is an {@link ApiException} naming the field; nothing here runs the model.
 */
final class RequestParser {
    /** OpenAI fields accepted and ignored: they change nothing a local model does. */
    static final Set<String> IGNORED = Set.of("user", "store", "metadata", "service_tier", "cache_prompt",
            "modalities", "reasoning_effort", "prompt_cache_key", "safety_identifier");
    static final Set<String> COMMON = Set.of("model", "max_tokens", "temperature", "top_p", "n", "stream",
            "stream_options", "stop", "seed", "logit_bias", "presence_penalty", "frequency_penalty", "response_format",
            "top_k", "min_p", "typical_p", "repetition_penalty", "repeat_penalty", "min_tokens", "ignore_eos", "samplers",
            "grammar", "regex", "json_schema", "strategy", "logprobs");
    /**
     * The sampler-chain fields of the parameter model beyond the OpenAI and vLLM names above (DRY, XTC, mirostat,
     * top-n-sigma, epsilon, eta, dynamic temperature, no-repeat-n-gram, stop tokens, the penalty window): read by
     * {@link GenerationFields}, as in strategy specs, so a field means the same on every front end.
     */
    static final Set<String> SAMPLING_EXTRAS;

    static {
        Set<String> extras = new java.util.TreeSet<>(GenerationFields.SAMPLING);
        extras.removeAll(Set.of("temperature", "top_k", "top_p", "min_p", "typical_p", "frequency_penalty",
                "presence_penalty", "repeat_penalty", "logit_bias", "min_tokens", "samplers"));
        SAMPLING_EXTRAS = Set.copyOf(extras);
    }

    static final Set<String> COMPLETIONS_ONLY = Set.of("prompt", "echo", "best_of", "suffix");
    static final Set<String> CHAT_ONLY = Set.of("messages", "max_completion_tokens", "top_logprobs", "tools",
            "tool_choice", "parallel_tool_calls", "functions", "function_call");
    /** Strategy parts that run code on the server: refused unless the operator allows them. */
    private static final Set<String> CODE_TYPES = Set.of("python", "python_tests");

    private final LanguageModel model;
    private final ServerConfig config;
    private final ChatFormatter chatFormatter;
    // text longer than this many bytes has at least a context's worth of tokens: refused without tokenizing it
    private final long promptBytesLimit;

    RequestParser(LanguageModel model, ServerConfig config, ChatFormatter chatFormatter) {
        this.model = model;
        this.config = config;
        this.chatFormatter = chatFormatter;
        Tokenizer tok = model.tokenizer();
        int longest = 1;
        for (int id = 0; id < tok.vocabSize(); id++) {
            longest = Math.max(longest, tok.tokenBytes(id).length);
        }
        // every token decodes to at most `longest` bytes, so a text of n bytes needs at least n / longest tokens;
        // the factor 2 leaves room for normalisation (a prefix space, byte fallback) that changes the byte count
        this.promptBytesLimit = 2L * longest * model.info().contextLength() + 64;
    }

    /** The compile ceilings for one constraint of a request, ending at its deadline. */
    static CompileBudget compileBudget(ServerConfig config, RequestContext ctx) {
        return new CompileBudget(config.maxConstraintWork(), config.maxConstraintStates(), ctx.deadlineNanos(),
                "server limit --max-constraint-work", "server limit --max-constraint-states");
    }

    CompletionRequest parse(JsonNode body, boolean chat, RequestContext request) {
        Fields f = Fields.of(body, "");
        Set<String> known = new java.util.HashSet<>(COMMON);
        known.addAll(SAMPLING_EXTRAS);
        known.addAll(IGNORED);
        known.addAll(chat ? CHAT_ONLY : COMPLETIONS_ONLY);
        f.requireKnown(known);
        f.string("model", null);
        Tokenizer tok = model.tokenizer();
        int ctx = model.info().contextLength();

        List<int[]> prompts = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        ToolRequest tools = null;
        if (chat) {
            tools = ToolRequest.parse(f, config, chatFormatter, tok, request);
            List<ChatMessage> messages = messages(f);
            long bytes = 0;
            for (ChatMessage m : messages) {
                bytes += utf8Length(m.content());
            }
            tooLong(bytes, "messages");
            String rendered;
            try {
                rendered = tools == null ? chatFormatter.render(messages)
                        : chatFormatter.render(tools.forTemplate(messages, chatFormatter.readsTools()), tools.toolsJson());
            } catch (MetagenException e) {
                // templates raise on conversations they do not accept (e.g. roles out of order)
                throw ApiException.invalid("messages", "the model's chat template rejects these messages: " + MetagenException.describe(e));
            }
            prompts.add(chatFormatter.encode(rendered));
            texts.add(rendered);
        } else {
            prompt(f, tok, prompts, texts);
            if (f.has("suffix")) {
                throw ApiException.invalid("suffix", "suffix (fill-in-the-middle) is not supported by this server");
            }
        }
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw ApiException.invalid(chat ? "messages" : "prompt", "the prompt is empty and the model adds no BOS");
            }
            if (p.length >= ctx) {
                throw new ApiException(400, "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded",
                        "the prompt has " + p.length + " tokens, but the context holds only " + ctx);
            }
            for (int id : p) {
                if (id < 0 || id >= tok.vocabSize()) {
                    throw ApiException.invalid("prompt", "token id " + id + " is outside the vocabulary [0, " + tok.vocabSize() + ")");
                }
            }
        }

        int limit = config.maxTokensLimit();
        int dfltMax = chat ? limit : 16;
        int maxTokens;
        if (chat && f.has("max_completion_tokens")) {
            maxTokens = f.integer("max_completion_tokens", dfltMax, 0, limit);
        } else {
            maxTokens = f.integer("max_tokens", dfltMax, 0, limit);
        }
        int n = f.integer("n", 1, 1, config.maxN());
        if (!chat && f.has("best_of")) {
            int bestOf = f.integer("best_of", n, 1, config.maxN());
            if (bestOf != n) {
                throw ApiException.invalid("best_of", "best_of other than n is not supported; use strategy {\"type\": \"best_of_n\", ...}");
            }
        }
        if ((long) n * prompts.size() > config.maxN()) {
            throw ApiException.invalid("n", "n times the number of prompts is " + ((long) n * prompts.size()) + ", more than the limit " + config.maxN());
        }
        boolean stream = f.bool("stream", false);
        boolean includeUsage = false;
        if (f.has("stream_options")) {
            if (!stream) {
                throw ApiException.invalid("stream_options", "stream_options is only allowed with stream: true");
            }
            Fields so = Fields.of(f.get("stream_options"), "stream_options");
            so.requireKnown(Set.of("include_usage", "continuous_usage_stats"));
            includeUsage = so.bool("include_usage", false);
            so.bool("continuous_usage_stats", false);
        }
        boolean echo = !chat && f.bool("echo", false);
        int logprobs = logprobs(f, chat);
        long seed = f.has("seed") ? f.longValue("seed", 0, Long.MIN_VALUE, Long.MAX_VALUE) : new java.security.SecureRandom().nextLong();
        List<String> stop = new ArrayList<>(f.strings("stop", 16));
        for (String s : stop) {
            if (s.isEmpty()) {
                throw ApiException.invalid("stop", "stop strings must not be empty");
            }
        }

        if (chat) {
            for (String s : chatFormatter.stopStrings()) {
                if (!stop.contains(s)) {
                    stop.add(s); // the end of the assistant's turn, in case the model writes it as text
                }
            }
        }
        double temperature = f.number("temperature", 1.0, 0, 100);
        double topP = f.number("top_p", 1.0, 0, 1);
        if (topP == 0) {
            throw ApiException.invalid("top_p", "top_p must be in (0, 1], got 0");
        }
        int topK = f.integer("top_k", 0, -1, Integer.MAX_VALUE);
        double minP = f.number("min_p", 0, 0, 1);
        double typicalP = f.number("typical_p", 1.0, 0, 1);
        if (typicalP == 0) {
            throw ApiException.invalid("typical_p", "typical_p must be in (0, 1], got 0");
        }
        double presence = f.number("presence_penalty", 0, -2, 2);
        double frequency = f.number("frequency_penalty", 0, -2, 2);
        String repName = f.has("repetition_penalty") ? "repetition_penalty" : "repeat_penalty";
        double repetition = f.number(repName, 1.0, 0, 100);
        if (repetition == 0) {
            throw ApiException.invalid(repName, repName + " must be > 0, got 0");
        }
        int minTokens = f.integer("min_tokens", 0, 0, maxTokens);
        boolean ignoreEos = f.bool("ignore_eos", false);
        Map<Integer, Float> bias = logitBias(f, tok);
        if (ignoreEos) {
            for (int id = 0; id < tok.vocabSize(); id++) {
                if (tok.special().isEndOfGeneration(id)) {
                    bias.put(id, Float.NEGATIVE_INFINITY); // as llama.cpp: end-of-generation tokens can never be drawn
                }
            }
        }
        List<String> samplers = samplers(f);
        // build once now so that a bad combination is a 400 before anything runs
        SamplingConfig base = samplingConfig(temperature, topK, topP, minP, typicalP, presence, frequency, repetition,
                minTokens, bias, samplers, 0);
        Map<String, Object> extras = new java.util.LinkedHashMap<>();
        for (String k : SAMPLING_EXTRAS) {
            if (f.has(k)) {
                extras.put(k, Json.MAPPER.convertValue(f.get(k), Object.class));
            }
        }
        if (!extras.isEmpty()) {
            try {
                base = GenerationFields.apply(GenerationParams.of(1, base), extras, "$").sampling();
            } catch (GenerationFields.FieldError e) {
                String field = e.field().replaceFirst("^\\$\\.", "");
                throw ApiException.invalid(field.split("\\.")[0], e.problem());
            } catch (MetagenException e) {
                throw ApiException.invalid(extras.keySet().iterator().next(), MetagenException.describe(e).replaceFirst("^\\$: ", ""));
            }
        }
        // the model's generation defaults (generation_config.json, general.sampling.*) fill the sampler fields the
        // request leaves out, as vLLM's --generation-config does
        Map<String, Object> defaults = model.generationDefaults();
        if (!defaults.isEmpty()) {
            try {
                base = GenerationFields.applyModelDefaults(GenerationParams.of(1, base), defaults,
                        k -> f.has(k) || k.equals("repeat_penalty") && f.has("repetition_penalty")).sampling();
            } catch (MetagenException e) {
                String field = defaults.keySet().stream().filter(k -> !f.has(k)).findFirst().orElse("model");
                throw ApiException.invalid(field, MetagenException.describe(e));
            }
        }

        if (tools != null && f.has("strategy")) {
            throw ApiException.invalid("tools", "tools cannot be combined with strategy; an agent that calls tools is the tool_loop strategy");
        }
        TokenConstraint constraint = constraint(f, tok, request);
        String strategy = strategy(f, maxTokens);
        if (tools != null) {
            if (constraint != null && tools.callsPossible()) {
                String field = java.util.stream.Stream.of("response_format", "grammar", "regex", "json_schema").filter(f::has).findFirst().orElseThrow();
                throw ApiException.invalid(field, field + " cannot be combined with tools unless tool_choice is none (a constrained answer cannot be a tool call)");
            }
            if (tools.forced()) {
                constraint = tools.constraint();
            }
        }
        if (strategy != null) {
            if (constraint != null) {
                String field = java.util.stream.Stream.of("response_format", "grammar", "regex", "json_schema")
                        .filter(f::has).findFirst().orElse("strategy");
                throw ApiException.invalid(field, field + " cannot be combined with strategy; put the constraint in the strategy's leaf ({\"type\": \"constrained\", ...})");
            }
        }
        final SamplingConfig sampling = base;
        return new CompletionRequest(chat, prompts, texts, n, maxTokens, stream, includeUsage, echo, logprobs, seed, stop,
                sampling::seed, constraint, strategy, !chat || chatFormatter.addsBos(texts.getFirst()), tools);
    }

    private static SamplingConfig samplingConfig(double temperature, int topK, double topP, double minP, double typicalP,
                                                 double presence, double frequency, double repetition, int minTokens,
                                                 Map<Integer, Float> bias, List<String> samplers, long seed) {
        // penalties look at the whole generated text, as in the OpenAI API (window -1)
        SamplingConfig c = new SamplingConfig().temperature(temperature).topK(Math.max(topK, 0)).topP(topP).minP(minP)
                .typicalP(typicalP).penalties(repetition, frequency, presence, -1).logitBias(bias).minTokens(minTokens).seed(seed);
        if (samplers != null) {
            c = c.samplers(samplers);
        }
        return c;
    }

    /** Refuses text that cannot fit the context, before tokenizing it (a megabyte prompt costs no tokenizer time). */
    private void tooLong(long bytes, String field) {
        if (bytes > promptBytesLimit) {
            throw new ApiException(400, "invalid_request_error", field, "context_length_exceeded", field + " has " + bytes
                    + " bytes of text: more tokens than the context of " + model.info().contextLength() + " holds");
        }
    }

    private static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3;
        }
        return n;
    }

    private void prompt(Fields f, Tokenizer tok, List<int[]> prompts, List<String> texts) {
        JsonNode p = f.get("prompt");
        if (p == null) {
            throw ApiException.invalid("prompt", "prompt is required");
        }
        if (p.isTextual()) {
            tooLong(utf8Length(p.textValue()), "prompt");
            prompts.add(tok.encode(p.textValue(), true, false));
            texts.add(p.textValue());
            return;
        }
        if (!p.isArray() || p.isEmpty()) {
            throw ApiException.invalid("prompt", "prompt must be a string, an array of strings, an array of token ids or an array of such arrays, got "
                    + (p.isArray() ? "an empty array" : Fields.kind(p)));
        }
        if (p.get(0).isNumber()) {
            int[] ids = tokenIds(p, "prompt", tok);
            prompts.add(ids);
            texts.add(tok.decode(ids));
            return;
        }
        int i = 0;
        for (JsonNode e : p) {
            if (e.isTextual()) {
                tooLong(utf8Length(e.textValue()), "prompt[" + i + "]");
                prompts.add(tok.encode(e.textValue(), true, false));
                texts.add(e.textValue());
            } else if (e.isArray()) {
                int[] ids = tokenIds(e, "prompt[" + i + "]", tok);
                prompts.add(ids);
                texts.add(tok.decode(ids));
            } else {
                throw ApiException.invalid("prompt", "prompt[" + i + "] must be a string or an array of token ids, got " + Fields.kind(e));
            }
            i++;
        }
    }

    private static int[] tokenIds(JsonNode arr, String name, Tokenizer tok) {
        int[] ids = new int[arr.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = arr.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw ApiException.invalid("prompt", name + "[" + i + "] must be a token id (an integer), got " + Fields.kind(e));
            }
            ids[i] = e.intValue();
            if (ids[i] < 0 || ids[i] >= tok.vocabSize()) {
                throw ApiException.invalid("prompt", name + "[" + i + "]: token id " + ids[i] + " is outside the vocabulary [0, " + tok.vocabSize() + ")");
            }
        }
        return ids;
    }

    private static List<ChatMessage> messages(Fields f) {
        JsonNode m = f.get("messages");
        if (m == null) {
            throw ApiException.invalid("messages", "messages is required");
        }
        if (!m.isArray() || m.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array, got " + (m.isArray() ? "an empty array" : Fields.kind(m)));
        }
        List<ChatMessage> out = new ArrayList<>();
        int i = 0;
        for (JsonNode e : m) {
            String name = "messages[" + i + "]";
            Fields mf = Fields.of(e, name);
            mf.requireKnown(Set.of("role", "content", "name", "tool_calls", "tool_call_id", "refusal", "function_call"));
            String role = mf.string("role", null);
            if (role == null) {
                throw ApiException.invalid(name + ".role", name + ".role is required");
            }
            if (!Set.of("system", "developer", "user", "assistant", "tool", "function").contains(role)) {
                throw ApiException.invalid(name + ".role", name + ".role must be one of system, developer, user, assistant, tool; got '" + role + "'");
            }
            out.add(new ChatMessage(role.equals("developer") ? "system" : role, content(mf, name), mf.string("name", null),
                    toolCalls(mf, name), mf.string("tool_call_id", null)));
            i++;
        }
        return out;
    }

    /** An assistant message's earlier tool calls: [{"id", "type": "function", "function": {"name", "arguments"}}]. */
    private static List<ChatMessage.ToolCall> toolCalls(Fields mf, String name) {
        JsonNode calls = mf.get("tool_calls");
        List<ChatMessage.ToolCall> out = new ArrayList<>();
        if (calls == null) {
            return out;
        }
        if (!calls.isArray()) {
            throw ApiException.invalid(name + ".tool_calls", name + ".tool_calls must be an array, got " + Fields.kind(calls));
        }
        int k = 0;
        for (JsonNode c : calls) {
            Fields cf = Fields.of(c, name + ".tool_calls[" + k + "]");
            cf.requireKnown(Set.of("id", "type", "function", "index"));
            Fields fn = Fields.of(cf.get("function") == null ? Json.MAPPER.createObjectNode() : cf.get("function"), cf.name("function"));
            String fname = fn.string("name", null);
            if (fname == null) {
                throw ApiException.invalid(fn.name("name"), fn.name("name") + " is required");
            }
            out.add(new ChatMessage.ToolCall(cf.string("id", null), fname, fn.string("arguments", "{}")));
            k++;
        }
        return out;
    }

    /** A message's content: a string, or an array of {"type": "text", "text": ...} parts. */
    private static String content(Fields mf, String name) {
        JsonNode c = mf.get("content");
        if (c == null) {
            return "";
        }
        if (c.isTextual()) {
            return c.textValue();
        }
        if (!c.isArray()) {
            throw ApiException.invalid(name + ".content", name + ".content must be a string or an array of text parts, got " + Fields.kind(c));
        }
        StringBuilder sb = new StringBuilder();
        int j = 0;
        for (JsonNode part : c) {
            Fields pf = Fields.of(part, name + ".content[" + j + "]");
            pf.requireKnown(Set.of("type", "text"));
            if (!"text".equals(pf.string("type", null))) {
                throw ApiException.invalid(pf.name("type"), pf.name("type") + " must be 'text' (this server reads only text parts)");
            }
            String text = pf.string("text", null);
            if (text == null) {
                throw ApiException.invalid(pf.name("text"), pf.name("text") + " is required");
            }
            sb.append(text);
            j++;
        }
        return sb.toString();
    }

    private static int logprobs(Fields f, boolean chat) {
        if (chat) {
            boolean on = f.bool("logprobs", false);
            int top = f.integer("top_logprobs", 0, 0, 20);
            if (f.has("top_logprobs") && !on) {
                throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs: true");
            }
            return on ? top : -1;
        }
        return f.has("logprobs") ? f.integer("logprobs", 0, 0, 20) : -1;
    }

    private static Map<Integer, Float> logitBias(Fields f, Tokenizer tok) {
        Map<Integer, Float> bias = new HashMap<>();
        JsonNode b = f.get("logit_bias");
        if (b == null) {
            return bias;
        }
        if (!b.isObject()) {
            throw ApiException.invalid("logit_bias", "logit_bias must be an object of token id to bias, got " + Fields.kind(b));
        }
        for (Map.Entry<String, JsonNode> e : b.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException x) {
                throw ApiException.invalid("logit_bias", "logit_bias key '" + e.getKey() + "' is not a token id");
            }
            if (id < 0 || id >= tok.vocabSize()) {
                throw ApiException.invalid("logit_bias", "logit_bias token id " + id + " is outside the vocabulary [0, " + tok.vocabSize() + ")");
            }
            JsonNode v = e.getValue();
            if (!v.isNumber() || !(v.doubleValue() >= -100 && v.doubleValue() <= 100)) {
                throw ApiException.invalid("logit_bias", "logit_bias of token " + id + " must be a number in [-100, 100], got " + v);
            }
            bias.put(id, v.floatValue());
        }
        return bias;
    }

    private static List<String> samplers(Fields f) {
        JsonNode s = f.get("samplers");
        if (s == null) {
            return null;
        }
        List<String> names = new ArrayList<>();
        if (s.isTextual()) {
            for (String x : s.textValue().split("[;,]")) {
                if (!x.isBlank()) {
                    names.add(x.strip());
                }
            }
        } else {
            names.addAll(f.strings("samplers", 32));
        }
        if (names.isEmpty()) {
            throw ApiException.invalid("samplers", "samplers needs at least one name of " + SamplingConfig.DEFAULT_ORDER);
        }
        try {
            new SamplingConfig().samplers(names);
        } catch (MetagenException e) {
            throw ApiException.invalid("samplers", e.getMessage().replace("--samplers", "samplers"));
        }
        return names;
    }

    /** response_format, grammar, regex or json_schema, compiled through the same spec as strategy leaves. */
    private TokenConstraint constraint(Fields f, Tokenizer tok, RequestContext ctx) {
        Map<String, Object> spec = new LinkedHashMap<>();
        List<String> given = new ArrayList<>();
        // the field named in errors: response_format.json_schema rather than response_format
        String source = null;
        if (f.has("response_format")) {
            Fields rf = Fields.of(f.get("response_format"), "response_format");
            rf.requireKnown(Set.of("type", "json_schema", "schema"));
            String type = rf.string("type", null);
            if (type == null) {
                throw ApiException.invalid("response_format.type", "response_format.type is required");
            }
            switch (type) {
                case "text" -> { }
                case "json_object" -> {
                    spec.put("json_object", true);
                    given.add("response_format");
                }
                case "json_schema" -> {
                    JsonNode schema;
                    if (rf.has("json_schema")) {
                        Fields js = Fields.of(rf.get("json_schema"), "response_format.json_schema");
                        js.requireKnown(Set.of("name", "schema", "strict", "description"));
                        js.string("name", null);
                        js.string("description", null);
                        js.bool("strict", false);
                        schema = js.get("schema");
                    } else {
                        schema = rf.get("schema"); // llama.cpp's shorthand
                    }
                    if (schema == null) {
                        throw ApiException.invalid("response_format.json_schema.schema", "response_format.json_schema.schema is required");
                    }
                    spec.put("json_schema", schema.toString());
                    given.add("response_format");
                    source = rf.has("json_schema") ? "response_format.json_schema" : "response_format.schema";
                }
                default -> throw ApiException.invalid("response_format.type",
                        "response_format.type must be text, json_object or json_schema; got '" + type + "'");
            }
        }
        if (f.has("grammar")) {
            spec.put("grammar", f.string("grammar", null));
            given.add("grammar");
        }
        if (f.has("regex")) {
            spec.put("regex", f.string("regex", null));
            given.add("regex");
        }
        if (f.has("json_schema")) {
            JsonNode js = f.get("json_schema");
            if (!js.isObject() && !js.isBoolean()) {
                throw ApiException.invalid("json_schema", "json_schema must be a JSON Schema object, got " + Fields.kind(js));
            }
            spec.put("json_schema", js.toString());
            given.add("json_schema");
        }
        if (given.isEmpty()) {
            return null;
        }
        if (given.size() > 1) {
            throw ApiException.invalid(given.get(1), "give only one of response_format (json), grammar, regex, json_schema; got " + given);
        }
        String field = source != null ? source : given.getFirst();
        for (Object v : spec.values()) {
            if (v instanceof String text && utf8Length(text) > config.maxConstraintBytes()) {
                throw ApiException.invalid(field, field + ": too large: " + utf8Length(text) + " bytes, more than "
                        + config.maxConstraintBytes() + " (server limit --max-constraint-bytes)");
            }
        }
        try {
            return compileBudget(config, ctx).run(() -> {
                TokenConstraint c = ConstraintSpec.fromFields(spec, tok);
                // the first token's mask walks the vocabulary through the automaton: a state explosion shows here,
                // as a 400 naming the field, rather than in the middle of generation
                c.start().allowed();
                return c;
            });
        } catch (CompileBudget.TooComplex e) {
            throw ApiException.invalid(field, field + ": " + e.getMessage());
        } catch (CompileBudget.Aborted e) {
            throw e;
        } catch (MetagenException | IllegalArgumentException | StackOverflowError e) {
            // a schema, grammar or regex that does not compile (or nests beyond reason) is the client's error
            throw ApiException.invalid(given.getFirst(), "invalid " + given.getFirst() + ": " + MetagenException.describe(e));
        }
    }

    /** The strategy spec as JSON text (an object, or a string holding one: never a file path on this machine). */
    private String strategy(Fields f, int maxTokens) {
        JsonNode s = f.get("strategy");
        if (s == null) {
            return null;
        }
        JsonNode tree = s;
        if (s.isTextual()) {
            try {
                tree = Json.MAPPER.readTree(s.textValue());
            } catch (Exception e) {
                throw ApiException.invalid("strategy", "strategy is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
            }
        }
        if (tree == null || !tree.isObject()) {
            throw ApiException.invalid("strategy", "strategy must be a JSON object (a meta-generation spec), got " + (tree == null ? "nothing" : Fields.kind(tree)));
        }
        if (!config.allowCodeTools()) {
            String found = codeType(tree);
            if (found != null) {
                throw new ApiException(403, "permission_error", "strategy", null,
                        "strategy part '" + found + "' runs code on the server; start the server with --allow-code-tools to allow it");
            }
        }
        String over = overLimit(tree, "$");
        if (over != null) {
            throw ApiException.invalid("strategy", "strategy " + over + " exceeds the server's max_tokens limit of " + config.maxTokensLimit());
        }
        try {
            // before anything is built: n = 2^31-1 or votes nested 25 deep must not allocate or run
            SpecCost.check(tree, maxTokens, strategyLimits());
        } catch (MetagenException e) {
            throw ApiException.invalid("strategy", "strategy " + e.getMessage());
        }
        String text = tree.toString();
        try {
            LeafGenerators.validator(config.sandboxLimits(), null, java.util.Set.of(), config.httpTools()).parse(text);
        } catch (MetagenException e) {
            throw ApiException.invalid("strategy", "strategy " + MetagenException.describe(e));
        } catch (RuntimeException e) {
            throw ApiException.invalid("strategy", "strategy is not a valid spec: " + MetagenException.describe(e));
        }
        return text;
    }

    SpecCost.Limits strategyLimits() {
        return new SpecCost.Limits(config.maxStrategyCalls(), config.maxStrategyTokens(), config.maxStrategyDepth(),
                config.maxTemplateGrowth(), "server limit --max-strategy-calls", "server limit --max-strategy-tokens",
                "server limit --max-strategy-depth", "server limit --max-template-growth");
    }

    /** The path of a {@code max_tokens} in the spec above the server's limit (a leaf's own limit overrides the request's). */
    private String overLimit(JsonNode n, String path) {
        if (n.isObject()) {
            JsonNode mt = n.get("max_tokens");
            if (mt != null && mt.isNumber() && mt.doubleValue() > config.maxTokensLimit()) {
                return path + ".max_tokens";
            }
            for (var e : n.properties()) {
                String found = overLimit(e.getValue(), path + "." + e.getKey());
                if (found != null) {
                    return found;
                }
            }
        } else if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) {
                String found = overLimit(n.get(i), path + "[" + i + "]");
                if (found != null) {
                    return found;
                }
            }
        }
        return null;
    }

    private static String codeType(JsonNode n) {
        if (n.isObject()) {
            JsonNode t = n.get("type");
            if (t != null && t.isTextual() && CODE_TYPES.contains(t.textValue())) {
                return t.textValue();
            }
        }
        for (JsonNode c : n) {
            String found = codeType(c);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    /**
     * Strategy parsing for a request: chat prompts carry special-token text that the leaves must read as tokens;
     * code tools run within the operator's sandbox limits.
     */
    static StrategySpecs specs(LanguageModel model, boolean chat, Sandbox.Limits sandboxLimits) {
        return specs(dev.metagen.runtime.ModelRegistry.of(model), chat, sandboxLimits, dev.metagen.meta.tools.HttpTool.Policy.NONE);
    }

    /** As above, with the server's named models for leaves that say {@code "model": "NAME"}. */
    static StrategySpecs specs(dev.metagen.runtime.ModelRegistry models, boolean chat, Sandbox.Limits sandboxLimits,
                               dev.metagen.meta.tools.HttpTool.Policy httpTools) {
        return new StrategySpecs(new LeafGenerators(models, chat), sandboxLimits, httpTools);
    }

    static boolean isObject(JsonNode n) {
        return n instanceof ObjectNode;
    }
}
