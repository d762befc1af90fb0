package dev.metagen.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import dev.metagen.control.ConstrainedGenerator;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Guidance;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.core.SamplingConfig;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.meta.Budget;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.SpecReference;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.trace.TracePage;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelRegistry;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The {@code /ui} playground: a page (prompt, strategy editor with the spec reference read from the parser's
 * registry, live output, then the trace in the {@link TracePage} viewer) and {@code POST /ui/run}, which takes the
 * fields of {@code /v1/completions} (checked by the same parser under the same limits) and streams server-sent
 * events: {@code token} pieces of a plain generation as they are sampled, {@code leaf} results of a strategy's leaf
 * generations as each finishes, and one {@code result} with the trace document. The page runs only its own inline script
 * and style (hashes in its Content-Security-Policy) and talks to nothing but this server.
 */
final class Playground {
    private final LanguageModel model;
    private final String modelId;
    private final ServerConfig config;
    private final ModelRegistry models;
    private byte[] page;
    private final String policy;

    private final String script = resource("playground.js");
    private final String style = TracePage.style() + resource("playground.css");

    Playground(LanguageModel model, String modelId, ServerConfig config, ModelRegistry models) {
        this.model = model;
        this.modelId = modelId;
        this.config = config;
        this.models = models;
        this.policy = TracePage.contentSecurityPolicy(List.of(TracePage.script(), script), List.of(style), true)
                + "; frame-ancestors 'none'";
    }

    /** The page, built on first use: the spec reference runs every builder of the registry once. */
    private synchronized byte[] page() {
        if (page == null) {
            Map<String, Object> setup = new LinkedHashMap<>();
            setup.put("model", modelId);
            setup.put("reference", SpecReference.toJson(SpecReference.of(RequestParser.specs(models, false, config.sandboxLimits(), config.httpTools()))));
            setup.put("max_tokens_limit", config.maxTokensLimit());
            // the data last: nothing in it is read as a placeholder
            String html = resource("playground.html")
                    .replace("{{STYLE}}", style)
                    .replace("{{VIEWER_SCRIPT}}", TracePage.script())
                    .replace("{{SCRIPT}}", script)
                    .replace("{{MODEL}}", TracePage.escapeHtml(modelId))
                    .replace("{{SETUP}}", TracePage.embedJson(setup));
            page = html.getBytes(StandardCharsets.UTF_8);
        }
        return page;
    }

    /** {@code GET /ui}: the page, with headers that keep it to itself. */
    void page(HttpExchange ex) throws IOException {
        var h = ex.getResponseHeaders();
        h.set("Content-Type", "text/html; charset=utf-8");
        h.set("Content-Security-Policy", policy);
        h.set("X-Content-Type-Options", "nosniff");
        h.set("X-Frame-Options", "DENY");
        h.set("Referrer-Policy", "no-referrer");
        h.set("Cross-Origin-Opener-Policy", "same-origin");
        h.set("Cross-Origin-Resource-Policy", "same-origin");
        h.set("Cache-Control", "no-store");
        byte[] body = page();
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    /** {@code POST /ui/run} on a worker: one choice, streamed as events, then its trace. */
    void run(CompletionRequest r, RequestContext ctx, Reply reply) {
        if (r.prompts().size() != 1 || r.n() != 1) {
            throw ApiException.invalid(r.n() != 1 ? "n" : "prompt", "the playground runs one prompt and one choice");
        }
        reply.kind(true);
        long seed = r.seed();
        SamplingConfig cfg = r.sampling().apply(seed);
        GenerationParams params = new GenerationParams(r.maxTokens(), seed, r.addSpecial(), r.stop(), cfg,
                Math.max(r.logprobs(), 0), null, Guidance.NONE);
        String promptText = r.promptTexts().getFirst();
        Generation g;
        String strategyType = null;
        Budget budget = null;
        if (r.strategy() != null) {
            AtomicInteger calls = new AtomicInteger();
            // every leaf generation of the strategy is reported when it returns: the search's progress, live
            LeafFactory observed = observed(new LeafGenerators(models, false), leaf -> {
                ObjectNode ev = Json.MAPPER.createObjectNode().put("type", "leaf").put("index", calls.incrementAndGet())
                        .put("text", leaf.text()).put("generated_tokens", leaf.cost().generatedTokens())
                        .put("finish_reason", leaf.finish().apiName());
                send(reply, ctx, ev);
            });
            StrategySpecs.Strategy s = RequestParser.compileBudget(config, ctx).run(
                    () -> new StrategySpecs(observed, config.sandboxLimits(), config.httpTools()).parse(r.strategy()));
            strategyType = s.type();
            budget = s.budget();
            long left = ctx.remainingMs();
            g = s.generate(Prompt.of(promptText), params, ctx.cancellation(), left == Long.MAX_VALUE ? null : Duration.ofMillis(left));
        } else {
            Consumer<String> onText = piece -> {
                ctx.check();
                if (!piece.isEmpty()) {
                    send(reply, ctx, Json.MAPPER.createObjectNode().put("type", "token").put("text", piece));
                }
            };
            int[] ids = r.prompts().getFirst();
            g = r.constraint() != null
                    ? new ConstrainedGenerator(model, r.constraint()).generate(ids, params, r.constraint().start(), onText)
                    : new SamplingGenerator(model).generate(ids, params, onText);
        }
        Map<String, Object> doc = TracePage.document(promptText, g, modelId, strategyType, r.strategy(), budget,
                id -> new String(model.tokenizer().tokenBytes(id), StandardCharsets.UTF_8));
        ObjectNode result = Json.MAPPER.createObjectNode().put("type", "result");
        result.set("trace", Json.MAPPER.valueToTree(doc));
        send(reply, ctx, result);
        reply.done();
    }

    private static void send(Reply reply, RequestContext ctx, ObjectNode ev) {
        try {
            reply.event(TracePage.embedJson(ev)); // NaN and infinite log-probabilities as strings, as the viewer reads them
        } catch (IOException e) {
            ctx.clientGone();
            throw new RequestContext.Stopped("the client disconnected", false);
        }
    }

    /** {@code leaves} whose generators report each result to {@code sink}, and otherwise are the same generators. */
    static LeafFactory observed(LeafFactory leaves, Consumer<Generation> sink) {
        return new LeafFactory() {
            @Override
            public Set<String> types() {
                return leaves.types();
            }

            @Override
            public Generator create(String type, SpecNode node) {
                return wrap(leaves.create(type, node));
            }

            @Override
            public Generator create(String type, SpecNode node, StrategySpecs specs) {
                return wrap(leaves.create(type, node, specs));
            }

            private Generator wrap(Generator g) {
                return new Generator() {
                    @Override
                    public Generation generate(Prompt prompt, GenerationParams params) {
                        Generation out = g.generate(prompt, params);
                        sink.accept(out);
                        return out;
                    }

                    @Override
                    public long maxModelCalls(Prompt prompt, GenerationParams params) {
                        return g.maxModelCalls(prompt, params);
                    }

                    @Override
                    public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
                        return g.maxGeneratedTokens(prompt, params);
                    }
                };
            }
        };
    }

    private static String resource(String name) {
        try (InputStream in = Playground.class.getResourceAsStream("ui/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource ui/" + name + " beside " + Playground.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
