package dev.metagen.control.sequence;

/** A classifier or reward model on partial outputs: log p(attribute | prefix), as FUDGE's future discriminator. */
@FunctionalInterface
public interface PartialScorer {
    /**
     * The log-probability that {@code partialText} will have the attribute.
     *
     * @param partialText the output so far
     * @return log p(attribute | prefix)
     */
    double logScore(String partialText);
}
