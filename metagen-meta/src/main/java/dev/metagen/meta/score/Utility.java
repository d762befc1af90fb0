package dev.metagen.meta.score;

/** A similarity between two candidate texts in [0, 1], used as the (negated) risk of minimum Bayes risk decoding. */
@FunctionalInterface
public interface Utility {
    double similarity(String hypothesis, String reference);
}
