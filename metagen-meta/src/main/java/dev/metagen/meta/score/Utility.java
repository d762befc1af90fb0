package dev.metagen.meta.score;

/** A similarity between two candidate texts in [0, 1], used as the (negated) risk of minimum Bayes risk decoding. */
@FunctionalInterface
public interface Utility {
    /**
     * The similarity of {@code hypothesis} to {@code reference} (higher is more similar).
     *
     * @param hypothesis a candidate's text
     * @param reference the text it is compared with
     * @return the similarity
     */
    double similarity(String hypothesis, String reference);
}
