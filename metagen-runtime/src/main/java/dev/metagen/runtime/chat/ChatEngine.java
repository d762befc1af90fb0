package dev.metagen.runtime.chat;

import dev.metagen.client.RemoteGenerator;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Guidance;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.OutputConstraint;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.hub.ModelResolver;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.llamacpp.LlamaCppOptions;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.ToolCallFormat;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelLeaf;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.runtime.ModelRegistry;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.function.Consumer;

/**
 * Chat over any metagen generator, the core that the LangChain4j and Spring AI adapters share: a local model on
 * either backend (rendered with its own chat template, decoded by a {@link ModelLeaf} that streams token by token)
 * or any other {@link Generator} such as a {@link RemoteGenerator}, optionally under a strategy spec whose leaves
 * inherit every parameter of the call. A reply carries the token usage, the strategy's whole cost and its trace.
 */
public final class ChatEngine implements AutoCloseable {
    /** The model loaded when none is named: the command line's default. */
    public static final String DEFAULT_MODEL = ModelResolver.DEFAULT_MODEL;
    /** Tokens generated when a call names no limit. */
    public static final int DEFAULT_MAX_TOKENS = 256;

    private final String modelName;
    private final LanguageModel model;       // null for a generator without a local model
    private final Generator generator;       // the plain generator: a ModelLeaf over the model, or the given one
    private final ChatTemplate template;
    private final StrategySpecs.Strategy strategy; // null: plain generation
    private final ModelRegistry registry;    // null for a given generator
    private final LanguageModel ownedModel;  // the model loaded here from a reference, closed with the engine
    private final int defaultMaxTokens;

    /**
     * One call's answer.
     *
     * @param generation       the generation (text, tokens, finish reason, cost, trace)
     * @param promptTokens     tokens read: the rendered prompt's length, or for a strategy every prompt its calls read
     * @param completionTokens tokens generated (all of a strategy's calls)
     * @param strategy         the strategy's type, or null for a plain generation
     * @param content          the answer's text without its tool calls (null when it is only calls)
     * @param toolCalls        the tool calls the answer makes (with fresh ids), empty when it makes none
     */
    public record Reply(Generation generation, long promptTokens, long completionTokens, String strategy, String content,
                        List<ChatMessage.ToolCall> toolCalls) {
        public Reply {
            toolCalls = List.copyOf(toolCalls);
        }

        /** A reply without tool calls: its content is the generated text. */
        public Reply(Generation generation, long promptTokens, long completionTokens, String strategy) {
            this(generation, promptTokens, completionTokens, strategy, generation.text(), List.of());
        }

        public boolean hasToolCalls() {
            return !toolCalls.isEmpty();
        }

        public String text() {
            return generation.text();
        }

        public FinishReason finish() {
            return generation.finish();
        }

        /** What the call cost: tokens read and written, model calls, tool calls and wall time. */
        public Cost cost() {
            return generation.cost();
        }

        /** The generation's trace (a strategy's candidates, tree, votes ...; JSON-friendly values). */
        public Map<String, Object> trace() {
            return generation.trace();
        }

        /** The cost as JSON-friendly values, named as {@code generate --json} names them. */
        public Map<String, Object> costMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            Cost c = generation.cost();
            m.put("prompt_tokens", c.promptTokens());
            m.put("generated_tokens", c.generatedTokens());
            m.put("model_calls", c.modelCalls());
            m.put("tool_calls", c.toolCalls());
            m.put("wall_ms", c.wall().toNanos() / 1e6);
            return m;
        }
    }

    private ChatEngine(Builder b) {
        ModelRegistry opened = null;
        LanguageModel loadedHere = null;
        try {
            if (b.generator != null) {
                if (b.modelRef != null || b.languageModel != null) {
                    throw new MetagenException("give a model or a generator, not both");
                }
                if (b.strategy != null) {
                    throw new MetagenException("a strategy runs over models (its leaves name them); give a model reference instead of a generator");
                }
                this.model = null;
                this.generator = b.generator;
                this.template = b.template != null ? b.template : ChatTemplate.fallback();
                this.modelName = b.modelName != null ? b.modelName : "metagen";
                this.strategy = null;
                this.registry = null;
                this.ownedModel = null;
            } else {
                LanguageModel m = b.languageModel;
                if (m == null) {
                    String ref = b.modelRef != null ? b.modelRef : DEFAULT_MODEL;
                    if (ModelRegistry.isEndpointReference(ref)) {
                        throw new MetagenException("model " + ref + ": a remote endpoint is a generator; give it with generator(RemoteGenerator)"
                                + " or name it among the models a strategy's leaves use");
                    }
                    ModelLoader loader = loader(b);
                    m = loader.load(ref);
                    loadedHere = m;
                    opened = ModelRegistry.of(m, b.named, loader::load, RemoteGenerator::forReference);
                    this.registry = opened;
                    this.modelName = b.modelName != null ? b.modelName : name(ref);
                } else {
                    ModelLoader loader = loader(b);
                    opened = ModelRegistry.of(m, b.named, loader::load, RemoteGenerator::forReference);
                    this.registry = opened;
                    this.modelName = b.modelName != null ? b.modelName : m.info().name();
                }
                this.model = m;
                this.ownedModel = loadedHere;
                this.template = b.template != null ? b.template : ModelLoader.chatTemplate(m);
                this.generator = new ModelLeaf(m, opened, true);
                // a strategy is parsed and compiled once; its generators are stateless, so every call runs the same tree
                this.strategy = b.strategy == null ? null
                        : new StrategySpecs(new LeafGenerators(opened, true), b.sandboxLimits).parse(b.strategy);
            }
            if (b.maxTokens < 1) {
                throw new MetagenException("max tokens must be >= 1, got " + b.maxTokens);
            }
            this.defaultMaxTokens = b.maxTokens;
        } catch (RuntimeException e) {
            closeQuietly(opened, loadedHere);
            throw e;
        }
    }

    private static ModelLoader loader(Builder b) {
        ModelOptions engine = new ModelOptions(b.threads, b.contextLength);
        LlamaCppOptions llama = LlamaCppOptions.DEFAULTS.withThreads(b.threads).withContextLength(b.contextLength);
        return new ModelLoader(ModelLoader.Backend.parse(b.backend), engine, llama, ref -> ModelResolver.fromEnvironment().resolve(ref));
    }

    private static String name(String ref) {
        String plain = ModelLoader.withoutPrefix(ref);
        int slash = Math.max(plain.lastIndexOf('/'), plain.lastIndexOf(':'));
        return plain.substring(slash + 1).replaceFirst("\\.gguf$", "");
    }

    private static void closeQuietly(ModelRegistry r, LanguageModel owned) {
        if (r != null) {
            r.close(); // the models it loaded for strategy leaves
        }
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception ignored) {
                // closing releases memory maps and caches only
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The name the frameworks report as the model's. */
    public String modelName() {
        return modelName;
    }

    /** The strategy's type, or null for plain generation. */
    public String strategyType() {
        return strategy == null ? null : strategy.type();
    }

    /** The generations' defaults when a call gives nothing: the engine's token limit, temperature 1, no filters. */
    public int defaultMaxTokens() {
        return defaultMaxTokens;
    }

    /**
     * The one parameter model for a call: {@code s}'s settings over the defaults, the chat template's end-of-turn
     * strings as stops, and a JSON Schema as the output constraint. Every setting given is applied or refused here
     * with a message naming it.
     */
    public GenerationParams params(ChatSettings s) {
        return params(s, null);
    }

    /**
     * {@link #params(ChatSettings)} for a call that declares {@code tools} (null: none): a required call is generated
     * under the JSON Schema of one call, which cannot be combined with another response format.
     */
    public GenerationParams params(ChatSettings s, ChatTools tools) {
        Objects.requireNonNull(s, "settings");
        if (tools != null && tools.forced()) {
            if (s.jsonSchema() != null || s.jsonObject()) {
                throw new MetagenException("a JSON response format cannot be combined with a required tool call (the answer is the call)");
            }
            s = new ChatSettings(s.maxTokens(), s.temperature(), s.topP(), s.topK(), s.frequencyPenalty(), s.presencePenalty(),
                    s.stop(), s.seed(), tools.callSchema(), false);
        } else if (tools != null && tools.callsPossible() && (s.jsonSchema() != null || s.jsonObject())) {
            throw new MetagenException("a JSON response format cannot be combined with tools unless the tool choice is none"
                    + " (a constrained answer cannot be a tool call)");
        }
        int maxTokens = s.maxTokens() != null ? s.maxTokens() : defaultMaxTokens;
        if (maxTokens < 1) {
            throw new MetagenException("maxTokens must be >= 1, got " + maxTokens);
        }
        SamplingConfig sampling = new SamplingConfig();
        if (s.temperature() != null) {
            sampling = sampling.temperature(s.temperature());
        }
        if (s.topP() != null) {
            sampling = sampling.topP(s.topP());
        }
        if (s.topK() != null) {
            sampling = sampling.topK(s.topK());
        }
        if (s.frequencyPenalty() != null || s.presencePenalty() != null) {
            // as in the OpenAI API: the penalties look at the whole generated text
            sampling = sampling.penalties(1.0, s.frequencyPenalty() == null ? 0 : s.frequencyPenalty(),
                    s.presencePenalty() == null ? 0 : s.presencePenalty(), -1);
        }
        if (model != null) {
            // the model's generation defaults (generation_config.json) fill the settings the caller left out
            ChatSettings given = s;
            sampling = GenerationFields.applyModelDefaults(GenerationParams.of(1, sampling), model.generationDefaults(),
                    k -> switch (k) {
                        case "temperature" -> given.temperature() != null;
                        case "top_p" -> given.topP() != null;
                        case "top_k" -> given.topK() != null;
                        default -> false;
                    }).sampling();
        }
        List<String> stop = new ArrayList<>();
        for (String x : s.stop()) {
            if (x == null || x.isEmpty()) {
                throw new MetagenException("stop sequences must not be empty");
            }
            if (!stop.contains(x)) {
                stop.add(x);
            }
        }
        for (String x : template.stopStrings()) {
            if (!stop.contains(x)) {
                stop.add(x); // the end of the assistant's turn, in case the model writes it as text
            }
        }
        long seed = s.seed() != null ? s.seed() : new SecureRandom().nextLong();
        OutputConstraint constraint = null;
        if (s.jsonSchema() != null && s.jsonObject()) {
            throw new MetagenException("give a JSON schema or ask for any JSON object, not both");
        }
        if (s.jsonSchema() != null) {
            constraint = OutputConstraint.jsonSchema(s.jsonSchema(), false);
        } else if (s.jsonObject()) {
            constraint = OutputConstraint.jsonObject();
        }
        GenerationParams p = new GenerationParams(maxTokens, seed, true, stop, sampling, 0, constraint, Guidance.NONE);
        if (constraint != null && generator instanceof ModelLeaf leaf) {
            leaf.constraint(constraint); // a schema that does not compile fails before anything runs
        }
        return p;
    }

    /** {@link #chat(List, GenerationParams, Consumer, Cancellation)} without streaming or cancellation. */
    public Reply chat(List<ChatMessage> messages, GenerationParams params) {
        return chat(messages, params, t -> {}, new Cancellation());
    }

    /**
     * Renders {@code messages} with the chat template and generates the assistant's answer, passing each piece of
     * final text to {@code onText} (token by token for a local model's plain generation; a strategy's answer, or a
     * generator's that does not stream, is final only at the end and comes as one piece). {@code cancel} stops the
     * generation at its next token (finish reason {@link FinishReason#CANCELLED}).
     */
    public Reply chat(List<ChatMessage> messages, GenerationParams params, Consumer<String> onText, Cancellation cancel) {
        return chat(messages, params, null, onText, cancel);
    }

    /**
     * {@link #chat(List, GenerationParams, Consumer, Cancellation)} for a call that declares {@code tools} (null:
     * none; give {@code params} from {@link #params(ChatSettings, ChatTools)}). The template renders the tools (one
     * that does not read them gets them in a system message); a required call is read as the constrained JSON it is,
     * any other answer with the model family's {@link ToolCallFormat}. When calls are possible the answer is final
     * only at the end: {@code onText} gets its content as one piece.
     */
    public Reply chat(List<ChatMessage> messages, GenerationParams params, ChatTools tools, Consumer<String> onText, Cancellation cancel) {
        if (messages.isEmpty()) {
            throw new MetagenException("messages: at least one message is needed");
        }
        if (tools != null && strategy != null) {
            throw new MetagenException("tools cannot be combined with a strategy; an agent that calls tools is the tool_loop strategy");
        }
        if (tools != null && tools.forced() && (params.constraint() == null || params.constraint().kind() != OutputConstraint.Kind.JSON_SCHEMA)) {
            throw new MetagenException("a required tool call needs the parameters of params(settings, tools)");
        }
        if (tools != null && tools.callsPossible()) {
            ToolCallFormat format = ToolCallFormat.forTemplate(template.source());
            StringBuilder whole = new StringBuilder();
            Reply r = chat(messages, params, tools, format, whole::append, cancel);
            if (r.finish() == FinishReason.CANCELLED) {
                return r;
            }
            ToolCallFormat.Parsed p = tools.forced() ? ToolCallFormat.forcedCall(r.text()) : format.parse(r.text());
            List<ChatMessage.ToolCall> calls = p.calls().stream()
                    .map(c -> new ChatMessage.ToolCall(format.newId(), c.name(), c.argumentsJson())).toList();
            String content = calls.isEmpty() ? r.text() : p.content();
            if (content != null) {
                emit(onText, content);
            }
            return new Reply(r.generation(), r.promptTokens(), r.completionTokens(), r.strategy(), content, calls);
        }
        return chat(messages, params, tools, null, onText, cancel);
    }

    private Reply chat(List<ChatMessage> messages, GenerationParams params, ChatTools tools, ToolCallFormat format,
                       Consumer<String> onText, Cancellation cancel) {
        String rendered;
        try {
            if (tools == null) {
                rendered = template.render(messages, true);
            } else {
                boolean reads = !template.isFallback() && template.supportsTools();
                List<ChatMessage> shown = reads ? messages
                        : (format != null ? format : ToolCallFormat.forTemplate(template.source())).withToolsInSystem(messages, tools.toolsJson());
                rendered = template.render(shown, true, tools.toolsJson(), Map.of());
            }
        } catch (MetagenException e) {
            throw new MetagenException("the model's chat template rejects these messages: " + MetagenException.describe(e), e);
        }
        GenerationParams p = params.withAddSpecial(template.bosToken().isEmpty() || !rendered.startsWith(template.bosToken()));
        Prompt prompt = Prompt.of(rendered);
        if (strategy != null) {
            Generation g = strategy.generate(prompt, p, cancel);
            emit(onText, g.text());
            return checked(new Reply(g, g.cost().promptTokens(), g.cost().generatedTokens(), strategy.type()), p);
        }
        if (generator instanceof ModelLeaf leaf) {
            int[] ids = model.tokenizer().encode(rendered, p.addSpecial(), true);
            Generation g;
            try {
                g = leaf.generate(ids, p, piece -> {
                    if (cancel.isCancelled()) {
                        throw new CancellationException("cancelled");
                    }
                    emit(onText, piece);
                });
            } catch (CancellationException e) {
                return new Reply(new Generation("", new int[0], new double[0], FinishReason.CANCELLED, Cost.ZERO,
                        Map.of("stopped", "cancelled")), ids.length, 0, null);
            }
            return checked(new Reply(g, ids.length, g.tokens().length, null), p);
        }
        Generation g = generator.generate(prompt, p);
        emit(onText, g.text());
        return checked(new Reply(g, g.cost().promptTokens(), g.cost().generatedTokens(), null), p);
    }

    /**
     * A JSON answer cut by the token limit does not parse: say so rather than hand a framework text that its parser
     * rejects with a less helpful message.
     */
    private static Reply checked(Reply r, GenerationParams p) {
        OutputConstraint c = p.constraint();
        if (c != null && (c.kind() == OutputConstraint.Kind.JSON_SCHEMA || c.kind() == OutputConstraint.Kind.JSON_OBJECT)
                && r.finish() == FinishReason.LENGTH) {
            throw new MetagenException("the answer reached the token limit (" + p.maxTokens() + " tokens) before its JSON was"
                    + " complete; raise the maximum number of output tokens");
        }
        return r;
    }

    private static void emit(Consumer<String> onText, String piece) {
        if (!piece.isEmpty()) {
            onText.accept(piece);
        }
    }

    @Override
    public void close() {
        closeQuietly(registry, ownedModel);
    }

    /** How to build a {@link ChatEngine}: a model reference (default {@value #DEFAULT_MODEL}) or a generator. */
    public static final class Builder {
        private String modelRef;
        private LanguageModel languageModel;
        private Generator generator;
        private ChatTemplate template;
        private String modelName;
        private String strategy;
        private String backend = ModelLoader.Backend.PURE_JAVA.flag();
        private Map<String, String> named = Map.of();
        private int threads;
        private int contextLength;
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private Sandbox.Limits sandboxLimits = Sandbox.Limits.DEFAULT;

        private Builder() {
        }

        /**
         * The model: a {@code .gguf} path, {@code hf:OWNER/REPO/FILE.gguf} (cached in {@code $METAGEN_HOME}),
         * or {@code llamacpp:REF} to run it on llama.cpp. Default: {@value #DEFAULT_MODEL}.
         */
        public Builder model(String ref) {
            this.modelRef = ref;
            return this;
        }

        /** A model already loaded (closed by the caller). */
        public Builder model(LanguageModel model) {
            this.languageModel = model;
            return this;
        }

        /** Any generator (e.g. a {@link RemoteGenerator}); prompts are rendered with {@link #chatTemplate} (default: a plain transcript). */
        public Builder generator(Generator generator) {
            this.generator = generator;
            return this;
        }

        /** The chat template (default: the model's own, else a plain transcript). */
        public Builder chatTemplate(ChatTemplate template) {
            this.template = template;
            return this;
        }

        /** The name reported as the model's (default: the model file's name). */
        public Builder modelName(String name) {
            this.modelName = name;
            return this;
        }

        /** A strategy spec (inline JSON or a file) that every call runs; null: plain generation. */
        public Builder strategy(String spec) {
            this.strategy = spec == null || spec.isBlank() ? null : spec;
            return this;
        }

        /** {@code pure-java} (default) or {@code llamacpp}: where a model reference without a prefix runs. */
        public Builder backend(String backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            ModelLoader.Backend.parse(backend);
            return this;
        }

        /** Named models for the strategy's leaves, judges and guidance ({@code "model": "NAME"}); a URL names a remote endpoint. */
        public Builder models(Map<String, String> named) {
            this.named = Map.copyOf(named);
            return this;
        }

        /** Threads of the engine (0: all processors). */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** Context length in tokens (0: the model's, capped at 4096). */
        public Builder contextLength(int tokens) {
            this.contextLength = tokens;
            return this;
        }

        /** Tokens generated when a call names no limit (default {@value #DEFAULT_MAX_TOKENS}). */
        public Builder maxTokens(int n) {
            this.maxTokens = n;
            return this;
        }

        /** The most that code tools of the strategy may use. */
        public Builder sandboxLimits(Sandbox.Limits limits) {
            this.sandboxLimits = Objects.requireNonNull(limits, "sandboxLimits");
            return this;
        }

        public ChatEngine build() {
            return new ChatEngine(this);
        }
    }
}
