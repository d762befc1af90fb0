package dev.metagen.core;

/** Scores a candidate for a prompt: reward model, process reward model, LM judge or verifier. */
@FunctionalInterface
public interface Scorer {
    double score(Prompt prompt, Generation candidate);
}
