package dev.metagen.decoding;

import dev.metagen.decoding.sampling.Sampler;

import java.util.List;

/**
 * What one generation adds to the sampler chain that the {@link dev.metagen.core.SamplingConfig} does not describe:
 * adapters over other model states that replace the logits (guidance, contrastive decoding, experts), and an
 * {@link OutputMask}. Created fresh for every generation (these processors follow the sequence), closed after it.
 *
 * @param first adapters that run first, in order
 * @param mask  the output mask, or null
 * @param then  adapters that run after the mask, on the tokens it allows (e.g. a FUDGE discriminator)
 * @param resources what to close after the generation (the adapters' model states)
 *
 * <p>Example:
 * <pre>{@code
 * int banned = model.tokenizer().encode(" the", false)[0];
 * SamplingGenerator noThe = new SamplingGenerator(model).withProcessors((params, promptIds) ->
 *         new LogitsProcessors(List.of(new LogitBiasSampler(Map.of(banned, Float.NEGATIVE_INFINITY))), null, null));
 * Generation g = noThe.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(32));
 * }</pre>
 */
public record LogitsProcessors(List<Sampler> first, OutputMask mask, List<Sampler> then, AutoCloseable resources)
        implements AutoCloseable {
    public static final LogitsProcessors NONE = new LogitsProcessors(List.of(), null, () -> {});

    /** Copies the lists; null resources mean nothing to close. */
    public LogitsProcessors {
        first = List.copyOf(first);
        then = List.copyOf(then);
        resources = resources == null ? () -> {} : resources;
    }

    /**
     * Processors with nothing after the mask.
     *
     * @param first adapters that run first, in order
     * @param mask the output mask, or null
     * @param resources what to close after the generation
     */
    public LogitsProcessors(List<Sampler> first, OutputMask mask, AutoCloseable resources) {
        this(first, mask, List.of(), resources);
    }

    /**
     * The same processors with {@code more} after the mask.
     *
     * @param more adapters to add at the end
     * @return the new processors
     */
    public LogitsProcessors followedBy(List<Sampler> more) {
        List<Sampler> all = new java.util.ArrayList<>(then);
        all.addAll(more);
        return new LogitsProcessors(first, mask, all, resources);
    }

    /**
     * The processors in chain order: the adapters, the mask, then the adapters that follow it.
     *
     * @return the adapters in order
     */
    public List<Sampler> chainHead() {
        List<Sampler> all = new java.util.ArrayList<>(first);
        if (mask != null) {
            all.add(mask);
        }
        all.addAll(then);
        return all;
    }

    @Override
    public void close() {
        try {
            resources.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Builds the processors of one generation from its parameters and prompt. */
    @FunctionalInterface
    public interface Factory {
        /**
         * The processors of one generation.
         *
         * @param params the call's parameters
         * @param promptIds the prompt's token ids
         * @return fresh processors, closed by the caller after the generation
         */
        LogitsProcessors create(dev.metagen.core.GenerationParams params, int[] promptIds);
    }
}
