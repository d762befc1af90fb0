package dev.metagen.core;

import java.util.List;
import java.util.Objects;

/**
 * The one parameter model of a generation call (as vLLM's {@code SamplingParams}): the token limit, the seed, stop
 * strings, every sampling knob ({@link SamplingConfig}: the sampler chain, its order, logit bias, penalties, minimum
 * length ...), how many top alternatives to record per token, the output constraint and guidance. Every front end
 * (CLI flags, OpenAI request fields, strategy specs) maps onto this value, and every leaf generator reads it: a
 * setting a generator cannot honour is an error there, never dropped.
 *
 * <p>{@code temperature == 0} means greedy (argmax, lowest id on ties); {@code topK <= 0} and {@code topP >= 1}
 * disable those filters. The sampler chain always draws with {@link #seed()} (the sampling value's own seed is
 * kept equal to it).
 *
 * @param logprobs   0: the chosen tokens' log-probabilities only; K > 0: also the top K alternatives of each step
 * @param constraint what the output must match, or null
 * @param guidance   guidance adapters ({@link Guidance#NONE} when off)
 * @param maxTokens the most tokens to generate
 * @param seed the seed of every random draw of the call
 * @param addSpecial whether the tokenizer adds BOS/EOS to the prompt as the model asks
 * @param stop stop strings (the output ends before the first one)
 * @param sampling every sampling knob
 *
 * <p>Example:
 * <pre>{@code
 * GenerationParams params = GenerationParams.of(64, new SamplingConfig().temperature(0.7).topP(0.9))
 *         .withSeed(42)
 *         .withStop(List.of("\n\n"));
 * Generation g = generator.generate(Prompt.of("Once upon a time"), params);
 * }</pre>
 */
public record GenerationParams(int maxTokens, long seed, boolean addSpecial, List<String> stop, SamplingConfig sampling,
                               int logprobs, OutputConstraint constraint, Guidance guidance) {
    /** The largest {@code logprobs} (top alternatives per token). */
    public static final int MAX_LOGPROBS = 1000;

    /** Checks every field (a negative token limit, a logprobs count above {@link #MAX_LOGPROBS} ... are errors). */
    public GenerationParams {
        stop = List.copyOf(stop);
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(guidance, "guidance");
        if (maxTokens < 0) {
            throw new MetagenException("max tokens must be >= 0, got " + maxTokens);
        }
        if (logprobs < 0 || logprobs > MAX_LOGPROBS) {
            throw new MetagenException("logprobs must be in [0, " + MAX_LOGPROBS + "], got " + logprobs);
        }
        for (String s : stop) {
            if (s == null || s.isEmpty()) {
                throw new MetagenException("a stop string must not be empty");
            }
        }
        if (sampling.seed() != seed) {
            sampling = sampling.seed(seed);
        }
    }

    /**
     * Temperature, top-k and top-p sampling (everything else off).
     *
     * @param maxTokens the most tokens to generate
     * @param temperature the temperature (0: greedy)
     * @param topK top-k (0: off)
     * @param topP top-p (1: off)
     * @param seed the seed
     * @param addSpecial whether the prompt gets BOS/EOS as the model asks
     * @param stop stop strings
     */
    public GenerationParams(int maxTokens, double temperature, int topK, double topP, long seed, boolean addSpecial,
                            List<String> stop) {
        this(maxTokens, seed, addSpecial, stop, new SamplingConfig().temperature(temperature).topK(topK).topP(topP),
                0, null, Guidance.NONE);
    }

    /**
     * Sampling with {@code sampling} (its seed is the call's), adding special tokens, no stops.
     *
     * @param maxTokens the most tokens to generate
     * @param sampling the sampling knobs
     * @return the parameters
     */
    public static GenerationParams of(int maxTokens, SamplingConfig sampling) {
        return new GenerationParams(maxTokens, sampling.seed(), true, List.of(), sampling, 0, null, Guidance.NONE);
    }

    /**
     * Greedy decoding (argmax at every step), adding special tokens, no stops.
     *
     * @param maxTokens the most tokens to generate
     * @return the parameters
     */
    public static GenerationParams greedy(int maxTokens) {
        return new GenerationParams(maxTokens, 0, 0, 1.0, 0, true, List.of());
    }

    /**
     * The sampling temperature (0: greedy).
     *
     * @return {@code sampling().temperature()}
     */
    public double temperature() {
        return sampling.temperature();
    }

    /**
     * The top-k filter (0: off).
     *
     * @return {@code sampling().topK()}
     */
    public int topK() {
        return sampling.topK();
    }

    /**
     * The top-p filter (1: off).
     *
     * @return {@code sampling().topP()}
     */
    public double topP() {
        return sampling.topP();
    }

    /**
     * The same call with another token limit.
     *
     * @param n the most tokens to generate
     * @return the new parameters
     */
    public GenerationParams withMaxTokens(int n) {
        return new GenerationParams(n, seed, addSpecial, stop, sampling, logprobs, constraint, guidance);
    }

    /**
     * The same call with another seed (the sampling value's seed follows it).
     *
     * @param s the seed
     * @return the new parameters
     */
    public GenerationParams withSeed(long s) {
        return new GenerationParams(maxTokens, s, addSpecial, stop, sampling, logprobs, constraint, guidance);
    }

    /**
     * The same call with temperature, top-k, top-p and seed replaced (the other knobs stay).
     *
     * @param temperature the temperature (0: greedy)
     * @param topK top-k (0: off)
     * @param topP top-p (1: off)
     * @param seed the seed
     * @return the new parameters
     */
    public GenerationParams withSampling(double temperature, int topK, double topP, long seed) {
        return new GenerationParams(maxTokens, seed, addSpecial, stop,
                sampling.temperature(temperature).topK(topK).topP(topP), logprobs, constraint, guidance);
    }

    /**
     * The same call with every sampling knob from {@code s} (the seed stays the call's).
     *
     * @param s the sampling knobs
     * @return the new parameters
     */
    public GenerationParams withSampling(SamplingConfig s) {
        return new GenerationParams(maxTokens, seed, addSpecial, stop, s, logprobs, constraint, guidance);
    }

    /**
     * The same call with other stop strings.
     *
     * @param stop the stop strings
     * @return the new parameters
     */
    public GenerationParams withStop(List<String> stop) {
        return new GenerationParams(maxTokens, seed, addSpecial, Objects.requireNonNull(stop), sampling, logprobs, constraint, guidance);
    }

    /**
     * The same call with or without the model's special tokens added to the prompt.
     *
     * @param add whether to add BOS/EOS as the model asks
     * @return the new parameters
     */
    public GenerationParams withAddSpecial(boolean add) {
        return new GenerationParams(maxTokens, seed, add, stop, sampling, logprobs, constraint, guidance);
    }

    /**
     * The same call recording {@code k} top alternatives per token.
     *
     * @param k 0 for the chosen tokens only, up to {@link #MAX_LOGPROBS}
     * @return the new parameters
     */
    public GenerationParams withLogprobs(int k) {
        return new GenerationParams(maxTokens, seed, addSpecial, stop, sampling, k, constraint, guidance);
    }

    /**
     * The same call with output constraint {@code c} (null: none).
     *
     * @param c the constraint
     * @return the new parameters
     */
    public GenerationParams withConstraint(OutputConstraint c) {
        return new GenerationParams(maxTokens, seed, addSpecial, stop, sampling, logprobs, c, guidance);
    }

    /**
     * The same call with guidance adapters {@code g}.
     *
     * @param g the adapters ({@link Guidance#NONE}: none)
     * @return the new parameters
     */
    public GenerationParams withGuidance(Guidance g) {
        return new GenerationParams(maxTokens, seed, addSpecial, stop, sampling, logprobs, constraint, g);
    }
}
