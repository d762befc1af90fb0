package dev.metagen.decoding.sampling;

/**
 * One sampling adapter of a chain (llama.cpp's sampler chain, Hugging Face's {@code LogitsProcessorList}):
 * it rescales, masks or truncates the candidate set in place.
 */
@FunctionalInterface
public interface Sampler {
    void apply(Candidates candidates);
}
