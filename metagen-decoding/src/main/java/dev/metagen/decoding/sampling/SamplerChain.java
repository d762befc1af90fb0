package dev.metagen.decoding.sampling;

import dev.metagen.core.SamplingConfig;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * An ordered list of {@link Sampler}s followed by the final choice, a draw from the softmax of the adapted
 * candidates (ancestral sampling) as llama.cpp's {@code dist}; when one candidate is left (temperature 0) it is
 * taken without a draw. Built from a {@link SamplingConfig}: model-combining adapters first, then logit bias,
 * minimum length and no-repeat-n-gram, then the configured order (llama.cpp's default: penalties, DRY,
 * top-n-sigma, top-k, typical-p, top-p, min-p, XTC, temperature), or temperature then mirostat.
 *
 * <p>Example:
 * <pre>{@code
 * Tokenizer tok = model.tokenizer();
 * SamplerChain chain = SamplerChain.build(new SamplingConfig().topK(40).temperature(0.8).seed(7), tok);
 * try (ModelState state = model.newState()) {
 *     Logits logits = model.forward(state, tok.encode("Once upon a time", true));
 *     int next = chain.sample(logits.values());   // one of the 40 most likely tokens
 * }
 * }</pre>
 */
public final class SamplerChain {
    private final List<Sampler> samplers;
    private final boolean greedy;
    private final SplittableRandom random;
    private Candidates last;

    /**
     * A chain of {@code samplers}, then a draw (or the single remaining candidate when greedy).
     *
     * @param samplers the adapters, in order
     * @param greedy whether the final choice is the argmax
     * @param seed the seed of the draws
     */
    public SamplerChain(List<Sampler> samplers, boolean greedy, long seed) {
        this.samplers = List.copyOf(samplers);
        this.greedy = greedy;
        this.random = new SplittableRandom(seed);
    }

    /**
     * The chain for {@link GenerationParams}: temperature 0 is greedy; top-k 0 and top-p 1 are off.
     *
     * @param p the call's parameters
     * @return the chain
     */
    public static SamplerChain from(GenerationParams p) {
        return build(SamplingConfig.from(p), null, List.of());
    }

    /**
     * The chain for {@code config}; {@code tokenizer} gives the vocabulary size, end tokens and DRY breakers.
     *
     * @param config the sampling knobs
     * @param tokenizer the vocabulary, or null
     * @return the chain
     */
    public static SamplerChain build(SamplingConfig config, Tokenizer tokenizer) {
        return build(config, tokenizer, List.of());
    }

    /**
     * The chain for {@code config} after {@code first} (adapters that replace the logits, e.g. guidance).
     * {@code tokenizer} may be null: then the logit bias is not checked against the vocabulary, and the minimum
     * length and DRY have no tokens to act on.
     *
     * @param c the sampling knobs
     * @param tokenizer the vocabulary, or null
     * @param first adapters at the head of the chain
     * @return the chain
     */
    public static SamplerChain build(SamplingConfig c, Tokenizer tokenizer, List<Sampler> first) {
        List<Sampler> s = new ArrayList<>(first);
        s.addAll(constraintsOfHistory(c, tokenizer));
        boolean greedy = c.temperature() == 0 && c.dynatempRange() == 0;
        if (c.mirostat() > 0 && !greedy) {
            s.add(temperature(c));
            s.add(c.mirostat() == 1 ? new MirostatSampler(c.mirostatTau(), c.mirostatEta(), 100)
                    : new MirostatV2Sampler(c.mirostatTau(), c.mirostatEta()));
            return new SamplerChain(s, false, c.seed());
        }
        for (String name : c.samplers()) {
            switch (name) {
                case "penalties" -> {
                    if (c.repeatLastN() != 0 && (c.repeatPenalty() != 1 || c.frequencyPenalty() != 0 || c.presencePenalty() != 0)) {
                        s.add(new PenaltySampler(c.repeatLastN(), c.repeatPenalty(), c.frequencyPenalty(), c.presencePenalty()));
                    }
                }
                case "dry" -> {
                    if (c.dryMultiplier() > 0) {
                        s.add(new DrySampler(c.dryMultiplier(), c.dryBase(), c.dryAllowedLength(), c.dryLastN(),
                                breakerTokens(tokenizer, c.dryBreakers())));
                    }
                }
                case "top_n_sigma" -> {
                    if (c.topNSigma() > 0) {
                        s.add(new TopNSigmaSampler(c.topNSigma()));
                    }
                }
                case "top_k" -> {
                    if (c.topK() > 0) {
                        s.add(new TopKSampler(c.topK()));
                    }
                }
                case "typ_p" -> {
                    if (c.typicalP() < 1) {
                        s.add(new TypicalPSampler(c.typicalP()));
                    }
                }
                case "top_p" -> {
                    if (c.topP() < 1) {
                        s.add(new TopPSampler(c.topP()));
                    }
                }
                case "min_p" -> {
                    if (c.minP() > 0) {
                        s.add(new MinPSampler(c.minP()));
                    }
                }
                case "epsilon" -> {
                    if (c.epsilon() > 0) {
                        s.add(new EpsilonSampler(c.epsilon()));
                    }
                }
                case "eta" -> {
                    if (c.eta() > 0) {
                        s.add(new EtaSampler(c.eta()));
                    }
                }
                case "xtc" -> {
                    if (c.xtcProbability() > 0) {
                        // its own stream, so that turning XTC on does not shift the final draws
                        s.add(new XtcSampler(c.xtcProbability(), c.xtcThreshold(), c.seed() ^ 0x5DEECE66DL));
                    }
                }
                case "temperature" -> s.add(temperature(c));
                default -> throw new IllegalStateException("unhandled sampler " + name);
            }
        }
        if (greedy && !c.samplers().contains("temperature")) {
            s.add(new TemperatureSampler(0)); // temperature 0 means greedy whatever the order
        }
        return new SamplerChain(s, greedy, c.seed());
    }

    /**
     * The adapters at the head of every chain that depend only on the history, never on a draw: the logit bias, the
     * minimum length and the no-repeat n-gram ban.
     */
    private static List<Sampler> constraintsOfHistory(SamplingConfig c, Tokenizer tokenizer) {
        List<Sampler> s = new ArrayList<>();
        if (!c.logitBias().isEmpty()) {
            LogitBiasSampler bias = new LogitBiasSampler(c.logitBias());
            if (tokenizer != null) {
                bias.checkVocabulary(tokenizer.vocabSize());
            }
            s.add(bias);
        }
        if (c.minTokens() > 0) {
            Set<Integer> ends = new HashSet<>(c.stopTokens());
            if (tokenizer != null) {
                ends.addAll(tokenizer.special().endOfGeneration());
            }
            s.add(new MinTokensSampler(c.minTokens(), ends));
        }
        if (c.noRepeatNgram() > 0) {
            s.add(new NoRepeatNgramSampler(c.noRepeatNgram()));
        }
        return s;
    }

    /**
     * The adapters of {@code c} that reshape a distribution by the history without drawing from it, as Hugging Face's
     * beam search applies its logits processors before ranking: logit bias, minimum length, no-repeat n-grams and the
     * repetition, frequency and presence penalties, in the chain's order.
     *
     * @param c the sampling knobs
     * @param tokenizer the vocabulary (bias check, end tokens)
     * @return the adapters; empty when none is set
     */
    public static List<Sampler> logitProcessors(SamplingConfig c, Tokenizer tokenizer) {
        List<Sampler> s = constraintsOfHistory(c, tokenizer);
        if (c.repeatLastN() != 0 && (c.repeatPenalty() != 1 || c.frequencyPenalty() != 0 || c.presencePenalty() != 0)) {
            s.add(new PenaltySampler(c.repeatLastN(), c.repeatPenalty(), c.frequencyPenalty(), c.presencePenalty()));
        }
        return List.copyOf(s);
    }

    private static Sampler temperature(SamplingConfig c) {
        return c.dynatempRange() > 0
                ? new DynamicTemperatureSampler(c.temperature(), c.dynatempRange(), c.dynatempExponent())
                : new TemperatureSampler(c.temperature());
    }

    /** Tokens whose text contains one of the breaker strings (a simplification of llama.cpp's DRY breakers). */
    static Set<Integer> breakerTokens(Tokenizer tokenizer, List<String> breakers) {
        Set<Integer> ids = new HashSet<>();
        if (tokenizer == null || breakers.isEmpty()) {
            return ids;
        }
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            String text = new String(tokenizer.tokenBytes(id), StandardCharsets.UTF_8);
            for (String b : breakers) {
                if (!b.isEmpty() && text.contains(b)) {
                    ids.add(id);
                    break;
                }
            }
        }
        return ids;
    }

    /** {@return the adapters, in order} */
    public List<Sampler> samplers() {
        return samplers;
    }

    /** {@return whether the final choice is the argmax} */
    public boolean isGreedy() {
        return greedy;
    }

    /**
     * Tells every adapter the prompt before the first step.
     *
     * @param promptIds the prompt's token ids
     */
    public void begin(int[] promptIds) {
        for (Sampler s : samplers) {
            s.begin(promptIds);
        }
    }

    /**
     * Picks the next token from the model's logits, with no history.
     *
     * @param logits the model's logits
     * @return the token id
     */
    public int sample(float[] logits) {
        return sample(logits, new int[0], 0);
    }

    /**
     * Picks the next token: applies the adapters in order to the model's logits, then draws.
     *
     * @param history   the tokens so far (prompt, then generated)
     * @param generated how many of {@code history} were generated
     * @param logits the model's logits
     * @return the token id
     */
    public int sample(float[] logits, int[] history, int generated) {
        Candidates c = Candidates.of(logits, history, generated);
        if (greedy && samplers.isEmpty()) {
            last = c;
            return c.id(c.argmax());
        }
        for (Sampler s : samplers) {
            s.apply(c);
        }
        int token = draw(c);
        last = c;
        for (Sampler s : samplers) {
            s.accept(token, c);
        }
        return token;
    }

    /**
     * The adapted candidate set the last token was drawn from.
     *
     * @return the candidates, or null before the first step
     */
    public Candidates lastCandidates() {
        return last;
    }

    private int draw(Candidates c) {
        double[] probs = c.probabilities();
        if (c.size() == 1) {
            return c.id(0);
        }
        double u = random.nextDouble();
        double cum = 0;
        for (int i = 0; i < probs.length; i++) {
            cum += probs[i];
            if (u < cum) {
                return c.id(i);
            }
        }
        // rounding left u above the last cumulative sum: take the last token with non-zero probability
        for (int i = probs.length - 1; i >= 0; i--) {
            if (probs[i] > 0) {
                return c.id(i);
            }
        }
        return c.id(0);
    }
}
