package dev.metagen.control.sequence;

/**
 * A log-potential on partial outputs (the twist function of twisted SMC): how promising a prefix is; the target
 * distribution is the model's times exp(potential) of the final output.
 */
@FunctionalInterface
public interface Potential {
    /**
     * The log-potential of a prefix.
     *
     * @param finished whether the text is a complete output (then this is the final log-weight factor)
     * @param text the output so far
     * @return the log-potential
     */
    double logPotential(String text, boolean finished);
}
