package dev.metagen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.control.ConstrainedGenerator;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.runtime.ModelRegistry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Runs a checked request and writes the OpenAI response: one JSON object, or server-sent events ending in
 * {@code data: [DONE]}. The choices of a request run concurrently, each on its own model state, so the engine can
 * batch them with each other and with other requests; each is seeded from the request alone.
 */
final class Completions {
    /** Where streamed events go; a failed write means the client is gone. */
    interface EventSink {
        void send(ObjectNode event) throws IOException;
    }

    private final LanguageModel model;
    private final String modelId;
    private final ServerConfig config;
    private final ModelRegistry models;

    Completions(LanguageModel model, String modelId, ServerConfig config, ModelRegistry models) {
        this.model = model;
        this.modelId = modelId;
        this.config = config;
        this.models = models;
    }

    /** One choice's result, with which prompt it continued. */
    private record Choice(int index, int prompt, Generation generation) {
    }

    ObjectNode run(CompletionRequest r, RequestContext ctx) {
        String id = (r.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        List<Choice> choices = runAll(r, ctx, (i, p) -> (piece -> ctx.check()));
        ObjectNode o = header(id, r.chat() ? "chat.completion" : "text_completion");
        ArrayNode arr = o.putArray("choices");
        for (Choice c : choices) {
            ObjectNode ch = arr.addObject();
            ch.put("index", c.index());
            String text = c.generation().text();
            ToolReplies.Answer answer = r.chat() && r.tools() != null ? ToolReplies.answer(r.tools(), text) : null;
            if (r.chat()) {
                ObjectNode msg = ch.putObject("message");
                msg.put("role", "assistant");
                if (answer == null) {
                    msg.put("content", text);
                } else {
                    ToolReplies.message(msg, answer);
                }
                msg.putNull("refusal");
                if (r.logprobs() >= 0) {
                    ch.set("logprobs", chatLogprobs(c.generation(), r.logprobs()));
                } else {
                    ch.putNull("logprobs");
                }
            } else {
                String prefix = r.echo() ? r.promptTexts().get(c.prompt()) : "";
                ch.put("text", prefix + text);
                if (r.logprobs() >= 0) {
                    ch.set("logprobs", legacyLogprobs(c.generation(), r.logprobs(), prefix.length()));
                } else {
                    ch.putNull("logprobs");
                }
            }
            ch.put("finish_reason", answer != null ? ToolReplies.finish(answer, c.generation().finish()) : finish(c.generation().finish()));
        }
        o.set("usage", usage(r, choices));
        return o;
    }

    void stream(CompletionRequest r, RequestContext ctx, EventSink sink) throws IOException {
        String id = (r.chat() ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
        String object = r.chat() ? "chat.completion.chunk" : "text_completion";
        Object lock = new Object();
        int total = r.prompts().size() * r.n();
        if (r.chat()) {
            for (int i = 0; i < total; i++) {
                ObjectNode ev = header(id, object);
                ObjectNode ch = ev.putArray("choices").addObject();
                ch.put("index", i);
                ch.putObject("delta").put("role", "assistant").put("content", "");
                ch.putNull("logprobs");
                ch.putNull("finish_reason");
                send(sink, ev, ctx);
            }
        } else if (r.echo()) {
            for (int i = 0; i < total; i++) {
                sendPiece(sink, ctx, lock, id, object, false, i, r.promptTexts().get(i / r.n()));
            }
        }
        // an answer that may be a tool call is known only when complete: it is sent whole, as calls or as content
        boolean whole = r.tools() != null && r.tools().callsPossible();
        List<Choice> choices = runAll(r, ctx, (index, p) -> piece -> {
            ctx.check();
            if (!piece.isEmpty() && !whole) {
                sendPiece(sink, ctx, lock, id, object, r.chat(), index, piece);
            }
        });
        for (Choice c : choices) {
            String finishReason = finish(c.generation().finish());
            if (whole) {
                ToolReplies.Answer answer = ToolReplies.answer(r.tools(), c.generation().text());
                for (ObjectNode delta : ToolReplies.deltas(answer)) {
                    ObjectNode ev = header(id, object);
                    ObjectNode ch = ev.putArray("choices").addObject();
                    ch.put("index", c.index());
                    ch.set("delta", delta);
                    ch.putNull("logprobs");
                    ch.putNull("finish_reason");
                    synchronized (lock) {
                        send(sink, ev, ctx);
                    }
                }
                finishReason = ToolReplies.finish(answer, c.generation().finish());
            } else if (r.strategy() != null) {
                // a strategy's answer is final only at the end: sent as one piece
                sendPiece(sink, ctx, lock, id, object, r.chat(), c.index(), c.generation().text());
            }
            ObjectNode ev = header(id, object);
            ObjectNode ch = ev.putArray("choices").addObject();
            ch.put("index", c.index());
            if (r.chat()) {
                ch.putObject("delta");
                ch.set("logprobs", r.logprobs() >= 0 ? chatLogprobs(c.generation(), r.logprobs()) : null);
            } else {
                ch.put("text", "");
                ch.set("logprobs", r.logprobs() >= 0 ? legacyLogprobs(c.generation(), r.logprobs(), 0) : null);
            }
            ch.put("finish_reason", finishReason);
            synchronized (lock) {
                send(sink, ev, ctx);
            }
        }
        if (r.includeUsage()) {
            ObjectNode ev = header(id, object);
            ev.putArray("choices");
            ev.set("usage", usage(r, choices));
            synchronized (lock) {
                send(sink, ev, ctx);
            }
        }
    }

    private void sendPiece(EventSink sink, RequestContext ctx, Object lock, String id, String object, boolean chat, int index, String piece) {
        ObjectNode ev = header(id, object);
        ObjectNode ch = ev.putArray("choices").addObject();
        ch.put("index", index);
        if (chat) {
            ch.putObject("delta").put("content", piece);
        } else {
            ch.put("text", piece);
        }
        ch.putNull("logprobs");
        ch.putNull("finish_reason");
        synchronized (lock) {
            send(sink, ev, ctx);
        }
    }

    private static void send(EventSink sink, ObjectNode ev, RequestContext ctx) {
        try {
            sink.send(ev);
        } catch (IOException e) {
            ctx.clientGone();
            throw new RequestContext.Stopped("the client disconnected", false);
        }
    }

    /** Per-choice text callback factory: (choice index, prompt index) to a consumer of text pieces. */
    private interface PieceSinks {
        Consumer<String> create(int index, int prompt);
    }

    private List<Choice> runAll(CompletionRequest r, RequestContext ctx, PieceSinks sinks) {
        int total = r.prompts().size() * r.n();
        // a strategy is parsed and compiled once per request (its constrained leaves under the same ceilings and
        // deadline as a request's own constraint); its generators are stateless, so every choice runs the same tree
        StrategySpecs.Strategy strategy = r.strategy() == null ? null : RequestParser.compileBudget(config, ctx).run(
                () -> RequestParser.specs(models, r.chat(), config.sandboxLimits(), config.httpTools()).parse(r.strategy()));
        if (total == 1) {
            return List.of(new Choice(0, 0, generate(r, strategy, 0, 0, sinks.create(0, 0), ctx)));
        }
        List<Future<Generation>> futures = new ArrayList<>();
        // platform threads (at most max-n per request): sampling is CPU work that would pin a virtual thread's carrier
        try (ExecutorService ex = Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().name("metagen-choice").factory())) {
            for (int i = 0; i < total; i++) {
                int index = i;
                int p = i / r.n();
                futures.add(ex.submit(() -> {
                    try {
                        return generate(r, strategy, p, index, sinks.create(index, p), ctx);
                    } catch (RuntimeException | Error e) {
                        if (!(e instanceof RequestContext.Stopped)) {
                            ctx.fail(); // one choice failing stops its siblings at their next token
                        }
                        throw e;
                    }
                }));
            }
            List<Choice> out = new ArrayList<>();
            Throwable failure = null;
            for (int i = 0; i < total; i++) {
                try {
                    out.add(new Choice(i, i / r.n(), futures.get(i).get()));
                } catch (ExecutionException e) {
                    // the root cause wins over the siblings it stopped
                    if (failure == null || failure instanceof RequestContext.Stopped && !(e.getCause() instanceof RequestContext.Stopped)) {
                        failure = e.getCause();
                    }
                }
            }
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            if (failure instanceof Error err) {
                throw err;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
            return out;
        } catch (InterruptedException e) {
            // the connection thread gave up on the request (disconnect or deadline)
            Thread.currentThread().interrupt();
            ctx.fail();
            throw new RequestContext.Stopped("interrupted", false);
        }
    }

    /** One choice: the strategy, the constrained generator or the sampling generator, with the request's chain. */
    private Generation generate(CompletionRequest r, StrategySpecs.Strategy strategy, int promptIndex, int index,
                                Consumer<String> onText, RequestContext ctx) {
        long seed = r.seed() + index;
        SamplingConfig cfg = r.sampling().apply(seed);
        // the one parameter model: a strategy's leaves inherit every sampling field of the request
        GenerationParams params = new GenerationParams(r.maxTokens(), seed, r.addSpecial(), r.stop(), cfg,
                Math.max(r.logprobs(), 0), null, dev.metagen.core.Guidance.NONE);
        int[] ids = r.prompts().get(promptIndex);
        if (strategy != null) {
            StrategySpecs.Strategy s = strategy;
            Prompt prompt = Prompt.of(r.promptTexts().get(promptIndex));
            long left = ctx.remainingMs();
            // the request's deadline and cancellation: a client that goes away stops every leaf of the tree at its next token
            return s.generate(prompt, params, ctx.cancellation(), left == Long.MAX_VALUE ? null : Duration.ofMillis(left));
        }
        if (r.constraint() != null) {
            Consumer<String> checked = t -> {
                ctx.check();
                onText.accept(t);
            };
            return new ConstrainedGenerator(model, r.constraint()).generate(ids, params, r.constraint().start(), checked);
        }
        return new SamplingGenerator(model).generate(ids, params, onText);
    }

    private ObjectNode header(String id, String object) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", modelId);
        o.put("system_fingerprint", "metagen");
        return o;
    }

    private ObjectNode usage(CompletionRequest r, List<Choice> choices) {
        long prompt = 0;
        long completion = 0;
        if (r.strategy() != null) {
            for (Choice c : choices) {
                prompt += c.generation().cost().promptTokens(); // a strategy reads its prompt many times
                completion += c.generation().cost().generatedTokens();
            }
        } else {
            for (int[] p : r.prompts()) {
                prompt += p.length;
            }
            for (Choice c : choices) {
                completion += c.generation().tokens().length;
            }
        }
        ObjectNode u = Json.MAPPER.createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    static String finish(FinishReason f) {
        return f == FinishReason.STOP ? "stop" : "length";
    }

    private String tokenText(int id) {
        return new String(model.tokenizer().tokenBytes(id), StandardCharsets.UTF_8);
    }

    /** The top alternatives recorded by the sampling generator for step {@code i}, or none. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> tops(Generation g, int i) {
        if (g.trace().get("top_logprobs") instanceof List<?> all && i < all.size()) {
            return (List<Map<String, Object>>) all.get(i);
        }
        return List.of();
    }

    /** The chat API's {@code logprobs.content}: token, logprob, bytes and top_logprobs per generated token. */
    private ObjectNode chatLogprobs(Generation g, int top) {
        ObjectNode lp = Json.MAPPER.createObjectNode();
        ArrayNode content = lp.putArray("content");
        for (int i = 0; i < g.tokens().length; i++) {
            ObjectNode t = tokenEntry(g.tokens()[i], g.logprobs()[i]);
            ArrayNode alts = t.putArray("top_logprobs");
            int k = 0;
            for (Map<String, Object> alt : tops(g, i)) {
                if (k++ >= top) {
                    break;
                }
                alts.add(tokenEntry((Integer) alt.get("token"), ((Number) alt.get("logprob")).doubleValue()));
            }
            content.add(t);
        }
        lp.putNull("refusal");
        return lp;
    }

    private ObjectNode tokenEntry(int id, double logprob) {
        ObjectNode t = Json.MAPPER.createObjectNode();
        t.put("token", tokenText(id));
        t.put("logprob", logprob);
        ArrayNode bytes = t.putArray("bytes");
        for (byte b : model.tokenizer().tokenBytes(id)) {
            bytes.add(b & 0xff);
        }
        return t;
    }

    /** The completions API's legacy logprobs: tokens, token_logprobs, top_logprobs (maps) and text_offset. */
    private ObjectNode legacyLogprobs(Generation g, int top, int offset) {
        ObjectNode lp = Json.MAPPER.createObjectNode();
        ArrayNode tokens = lp.putArray("tokens");
        ArrayNode values = lp.putArray("token_logprobs");
        ArrayNode topArr = lp.putArray("top_logprobs");
        ArrayNode offsets = lp.putArray("text_offset");
        int pos = offset;
        for (int i = 0; i < g.tokens().length; i++) {
            String text = tokenText(g.tokens()[i]);
            tokens.add(text);
            values.add(g.logprobs()[i]);
            ObjectNode alts = topArr.addObject();
            int k = 0;
            for (Map<String, Object> alt : tops(g, i)) {
                if (k++ >= top) {
                    break;
                }
                alts.put(tokenText((Integer) alt.get("token")), ((Number) alt.get("logprob")).doubleValue());
            }
            offsets.add(pos);
            pos += text.length();
        }
        return lp;
    }

    Tokenizer tokenizer() {
        return model.tokenizer();
    }
}
