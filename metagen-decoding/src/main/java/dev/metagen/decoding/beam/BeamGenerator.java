package dev.metagen.decoding.beam;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
import dev.metagen.core.StreamingDecoder;
import dev.metagen.core.Tokenizer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A beam-family search as a {@link Generator}: the best hypothesis is the generation, and every returned
 * hypothesis is listed in the trace under {@code sequences} (text, tokens, logprobs, score, finish_reason).
 * Stop strings cut each hypothesis after the first token whose text completes one.
 */
public final class BeamGenerator implements Generator {
    private final LanguageModel model;
    private final Search search;

    /**
     * A generator that runs {@code search} over {@code model}.
     *
     * @param model the model (tokenizer, context length)
     * @param search the beam-family search
     */
    public BeamGenerator(LanguageModel model, Search search) {
        this.model = model;
        this.search = search;
    }

    /**
     * A generator that runs {@code search} over {@code model}.
     *
     * @param model the model (tokenizer, context length)
     * @param search the beam-family search
     * @return the generator
     */
    public static BeamGenerator of(LanguageModel model, Search search) {
        return new BeamGenerator(model, search);
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        return generateAll(model.tokenizer().encode(prompt.text(), params.addSpecial()), params).getFirst();
    }

    /** One forward for the prompt, then one batched forward per step but the last. */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        return Search.maxModelCalls(params.maxTokens());
    }

    /** Every returned sequence is charged its tokens. */
    @Override
    public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
        return (long) search.maxReturned() * params.maxTokens();
    }

    /**
     * Every returned hypothesis as a generation, best first; the first also carries all in its trace.
     *
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @return the generations, best first
     */
    public List<Generation> generateAll(int[] promptIds, GenerationParams params) {
        long t0 = System.nanoTime();
        Search.Result r = search.run(promptIds, params.maxTokens());
        List<Hypothesis> hs = r.hypotheses();
        Duration wall = Duration.ofNanos(System.nanoTime() - t0);
        Tokenizer tok = model.tokenizer();
        List<Generation> out = new ArrayList<>();
        List<Map<String, Object>> sequences = new ArrayList<>();
        long generated = 0;
        for (Hypothesis h : hs) {
            Generation g = cut(tok, h, params.stop());
            generated += g.tokens().length;
            out.add(g);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("text", g.text());
            m.put("tokens", g.tokens());
            m.put("logprobs", g.logprobs());
            m.put("logprob", h.logprob());
            m.put("score", h.score());
            m.put("finish_reason", g.finish().apiName());
            sequences.add(m);
        }
        // the search's cost is shared by its hypotheses: it is reported once, on the best generation
        Cost cost = new Cost(promptIds.length, generated, r.modelCalls(), 0, wall);
        List<Generation> result = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            Generation g = out.get(i);
            Map<String, Object> trace = new LinkedHashMap<>(g.trace());
            trace.put("prompt_ids", promptIds);
            trace.put("score", hs.get(i).score());
            if (i == 0) {
                trace.put("sequences", sequences);
                double ms = wall.toNanos() / 1e6;
                trace.put("prefill_ms", 0.0);
                trace.put("decode_ms", ms);
                trace.put("prefill_tokens_per_s", 0.0);
                trace.put("decode_tokens_per_s", ms == 0 ? 0.0 : generated / (ms / 1000));
            }
            // an interrupted search ranked incomplete beams: its answer is marked cancelled, as a sampler's is
            FinishReason finish = r.cancelled() ? FinishReason.CANCELLED : g.finish();
            result.add(new Generation(g.text(), g.tokens(), g.logprobs(), finish, i == 0 ? cost : Cost.ZERO, trace));
        }
        return result;
    }

    /**
     * The hypothesis as a generation, cut at the first stop string. The text is the continuation's own bytes, as
     * the sampling generator streams them: {@link Tokenizer#decode} would drop the leading space that a
     * SentencePiece vocabulary folds into the first word's token ("Once upon a" + " time").
     */
    static Generation cut(Tokenizer tok, Hypothesis h, List<String> stops) {
        int[] tokens = h.tokens();
        StreamingDecoder decoder = tok.streamingDecoder();
        StringBuilder sb = new StringBuilder();
        for (int n = 1; n <= tokens.length && !stops.isEmpty(); n++) {
            sb.append(decoder.accept(tokens[n - 1]));
            String text = n == tokens.length ? sb + decoder.flush() : sb.toString();
            int at = -1;
            for (String s : stops) {
                int i = s.isEmpty() ? -1 : text.indexOf(s);
                if (i >= 0 && (at < 0 || i < at)) {
                    at = i;
                }
            }
            if (at >= 0) {
                return new Generation(text.substring(0, at), Arrays.copyOf(tokens, n), Arrays.copyOf(h.logprobs(), n),
                        FinishReason.STOP, Cost.ZERO, Map.of());
            }
        }
        return new Generation(continuation(tok, tokens), tokens, h.logprobs(), h.finish(), Cost.ZERO, Map.of());
    }

    /**
     * The text of generated {@code tokens} that follow a prompt, leading space included.
     *
     * @param tok the tokenizer
     * @param tokens the generated ids
     * @return the text
     */
    public static String continuation(Tokenizer tok, int[] tokens) {
        StreamingDecoder decoder = tok.streamingDecoder();
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) {
            sb.append(decoder.accept(t));
        }
        return sb.append(decoder.flush()).toString();
    }
}
