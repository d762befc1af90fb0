package dev.metagen.control.sequence;

/** A classifier or reward model on partial outputs: log p(attribute | prefix), as FUDGE's future discriminator. */
@FunctionalInterface
public interface PartialScorer {
    double logScore(String partialText);
}
