package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Scorer;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.score.AnswerExtractor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Self-consistency / majority voting (Wang et al., 2023): N samples, the most frequent extracted answer wins
 * (ties broken uniformly at random by the seed); with a scorer, votes are weighted by its scores (weighted
 * majority voting, Li et al., 2023; Welleck et al., 2024, section 4.2.2). Samples without an answer do not vote.
 *
 * <p>Example:
 * <pre>{@code
 * MetaGenerator vote = new MajorityVote(sampler, 8, AnswerExtractors.lastNumber());
 * Generation g = vote.generate(Prompt.of("Q: 2 + 3 = ?\nA:"), GenerationParams.of(16, new SamplingConfig()));
 * // g is a sample whose last number is the most frequent one among the 8
 * }</pre>
 */
public class MajorityVote extends MetaGenerator {
    private final Generator inner;
    private final int n;
    private final AnswerExtractor extractor;
    private final Scorer weights; // null: one vote each
    private final boolean expWeights;

    /**
     * Majority voting over {@code n} samples of {@code inner}.
     *
     * @param inner the sampled generator
     * @param n the number of samples
     * @param extractor extracts the answers that vote
     */
    public MajorityVote(Generator inner, int n, AnswerExtractor extractor) {
        this(inner, n, extractor, null, false);
    }

    /**
     * Majority voting with weighted votes (for subclasses).
     *
     * @param inner the sampled generator
     * @param n the number of samples
     * @param extractor extracts the answers that vote
     * @param weights weighs each vote, or null for one vote each
     * @param expWeights whether a vote weighs exp(score) instead of the score
     */
    protected MajorityVote(Generator inner, int n, AnswerExtractor extractor, Scorer weights, boolean expWeights) {
        if (n < 1) {
            throw new MetagenException("majority_vote: n must be >= 1, got " + n);
        }
        this.inner = inner;
        this.n = n;
        this.extractor = extractor;
        this.weights = weights;
        this.expWeights = expWeights;
    }

    @Override
    public String name() {
        return "majority_vote";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Sampling.Sample> samples = Sampling.sample(scope, inner, prompt, params, 0, n);
        List<Map<String, Object>> rows = Sampling.rows(samples);
        Votes votes = new Votes();
        String[] answers = new String[samples.size()];
        double[] scores = new double[samples.size()];
        double maxScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < samples.size(); i++) {
            Generation g = samples.get(i).generation();
            Optional<String> a = extractor.extract(g.text());
            rows.get(i).put("answer", a.orElse(null));
            if (a.isEmpty()) {
                continue;
            }
            answers[i] = a.get();
            if (weights != null) {
                scores[i] = scope.score(weights, prompt, g);
                rows.get(i).put("score", scores[i]);
                maxScore = Math.max(maxScore, scores[i]);
            }
        }
        for (int i = 0; i < samples.size(); i++) {
            if (answers[i] == null) {
                continue;
            }
            double w = 1;
            if (weights != null) {
                // exp weights relative to the best sample: exp(s - max) has the ratios of exp(s) without underflow
                w = expWeights ? (maxScore == Double.NEGATIVE_INFINITY ? 1 : Math.exp(scores[i] - maxScore))
                        : Math.max(0, scores[i]);
                rows.get(i).put("weight", w);
            }
            votes.add(answers[i], w);
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("n", n);
        trace.put("candidates", rows);
        trace.put("votes", votes.toTrace());
        if (votes.isEmpty()) {
            trace.put("answer", null);
            return result(scope, samples.isEmpty() ? null : samples.getFirst().generation(), trace);
        }
        String winner = votes.winner(Seeds.derive(params.seed(), -1));
        trace.put("answer", winner);
        for (int i = 0; i < answers.length; i++) {
            if (winner.equals(answers[i])) {
                trace.put("chosen", samples.get(i).index());
                return result(scope, samples.get(i).generation(), trace);
            }
        }
        throw new IllegalStateException("winner without a sample");
    }
}
