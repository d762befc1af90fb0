package dev.metagen.decoding.beam;

import dev.metagen.core.FinishReason;

/**
 * One finished sequence of a beam-family search.
 *
 * @param tokens   generated ids, without the end token
 * @param logprobs each generated token's log-probability under the model (the end token's is in {@code logprob})
 * @param logprob  the sequence log-probability, including the end token when there is one
 * @param score    the value the search ranks by (length-normalised log-probability, or a Gumbel key)
 * @param finish why the sequence ended (an end token or the length limit)
 */
public record Hypothesis(int[] tokens, double[] logprobs, double logprob, double score, FinishReason finish) {}
