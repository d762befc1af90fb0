package dev.metagen.decoding.beam;

import java.util.List;

/** A beam-family search (beam, diverse beam, stochastic beam): hypotheses after a prompt, and what it cost. */
public interface Search {
    /** The returned hypotheses after {@code promptIds}, best first. */
    List<Hypothesis> search(int[] promptIds, int maxTokens);

    /** Batched model forwards made by the last {@link #search}. */
    long modelCalls();
}
