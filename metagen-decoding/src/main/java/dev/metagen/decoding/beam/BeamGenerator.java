package dev.metagen.decoding.beam;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Prompt;
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

    public BeamGenerator(LanguageModel model, Search search) {
        this.model = model;
        this.search = search;
    }

    public static BeamGenerator of(LanguageModel model, Search search) {
        return new BeamGenerator(model, search);
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        return generateAll(model.tokenizer().encode(prompt.text(), params.addSpecial()), params).getFirst();
    }

    /** Every returned hypothesis as a generation, best first; the first also carries all in its trace. */
    public List<Generation> generateAll(int[] promptIds, GenerationParams params) {
        long t0 = System.nanoTime();
        List<Hypothesis> hs = search.search(promptIds, params.maxTokens());
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
        // the search's cost is shared: it is reported once, on the best generation
        Cost cost = new Cost(promptIds.length, generated, search.modelCalls(), 0, wall);
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
            result.add(new Generation(g.text(), g.tokens(), g.logprobs(), g.finish(), i == 0 ? cost : Cost.ZERO, trace));
        }
        return result;
    }

    /** The hypothesis as a generation, cut at the first stop string. */
    static Generation cut(Tokenizer tok, Hypothesis h, List<String> stops) {
        int[] tokens = h.tokens();
        for (int n = 1; n <= tokens.length && !stops.isEmpty(); n++) {
            String text = tok.decode(Arrays.copyOf(tokens, n));
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
        return new Generation(tok.decode(tokens), tokens, h.logprobs(), h.finish(), Cost.ZERO, Map.of());
    }
}
