package dev.metagen.core;

/** Maps a prompt to a sample from a distribution over outputs; decoding algorithms and meta-generators alike. */
@FunctionalInterface
public interface Generator {
    Generation generate(Prompt prompt, GenerationParams params);
}
