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
 */
public record LogitsProcessors(List<Sampler> first, OutputMask mask, AutoCloseable resources) implements AutoCloseable {
    public static final LogitsProcessors NONE = new LogitsProcessors(List.of(), null, () -> {});

    public LogitsProcessors {
        first = List.copyOf(first);
        resources = resources == null ? () -> {} : resources;
    }

    /** The processors in chain order: the adapters, then the mask. */
    public List<Sampler> chainHead() {
        if (mask == null) {
            return first;
        }
        List<Sampler> all = new java.util.ArrayList<>(first);
        all.add(mask);
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
        LogitsProcessors create(dev.metagen.core.GenerationParams params, int[] promptIds);
    }
}
