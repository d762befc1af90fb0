package dev.metagen.decoding;

import dev.metagen.decoding.sampling.Sampler;

/**
 * A processor of the sampler chain that keeps the output inside a language and knows when it must end (llama.cpp's
 * grammar sampler; Outlines' guide): it masks the tokens that cannot continue the output, advances on each chosen
 * token, and tells the decode loop when no token may follow. Constraints of the controlled-generation module
 * implement it, so constrained decoding is the same loop as sampling with one more processor.
 */
public interface OutputMask extends Sampler {
    /**
     * True when the output is complete and no token may follow: the loop finishes with STOP.
     *
     * @return whether the output must end now
     */
    boolean mustEnd();

    /**
     * True when the output so far is a complete sentence of the language (it may still go on).
     *
     * @return whether the output is complete
     */
    boolean isComplete();

    /**
     * Called before each step with the tokens generated so far and the limit, so that a mask can steer a
     * budget-limited output towards completion.
     *
     * @param generated tokens generated so far
     * @param maxTokens the token limit
     */
    default void progress(int generated, int maxTokens) {}

    /**
     * What the mask enforces, for traces (e.g. {@code regex /[0-9]+/}).
     *
     * @return the description
     */
    String describe();
}
