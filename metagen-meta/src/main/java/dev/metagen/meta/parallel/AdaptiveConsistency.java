package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.score.AnswerExtractor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Adaptive-consistency (Aggarwal et al., 2023): sample in small batches and stop as soon as the Beta stopping
 * criterion says the leading answer is the mode with probability at least {@code confidence}, i.e.
 * P(p1 > p2 | v1, v2) = P(X > 1/2) for X ~ Beta(v1 + 1, v2 + 1), with v1, v2 the two largest vote counts.
 */
public final class AdaptiveConsistency extends MetaGenerator {
    private final Generator inner;
    private final AnswerExtractor extractor;
    private final int maxSamples;
    private final double confidence;
    private final int batch;

    /**
     * Adaptive-consistency over {@code inner}.
     *
     * @param inner the sampled generator
     * @param extractor extracts the answers that vote
     * @param maxSamples the most samples
     * @param confidence the stopping confidence, in (0, 1)
     * @param batch samples drawn concurrently per round
     */
    public AdaptiveConsistency(Generator inner, AnswerExtractor extractor, int maxSamples, double confidence, int batch) {
        if (maxSamples < 1 || batch < 1) {
            throw new MetagenException("adaptive_consistency: max_samples and batch must be >= 1, got " + maxSamples + " and " + batch);
        }
        if (!(confidence > 0 && confidence < 1)) {
            throw new MetagenException("adaptive_consistency: confidence must be in (0, 1), got " + confidence);
        }
        this.inner = inner;
        this.extractor = extractor;
        this.maxSamples = maxSamples;
        this.confidence = confidence;
        this.batch = batch;
    }

    @Override
    public String name() {
        return "adaptive_consistency";
    }

    /**
     * {@code P(X > 1/2)} for {@code X ~ Beta(a, b)} with integer {@code a, b >= 1}, exactly: the Beta CDF at 1/2
     * equals {@code P(Binomial(a + b - 1, 1/2) >= a)}, so the answer is {@code P(Binomial(a + b - 1, 1/2) <= a - 1)},
     * with {@code a = v1 + 1} and {@code b = v2 + 1}.
     *
     * @param v1 the leader's votes
     * @param v2 the runner-up's votes
     * @return the probability that the leader is the mode
     */
    public static double probabilityLeaderIsMode(int v1, int v2) {
        int a = v1 + 1;
        int n = v1 + v2 + 1;
        // sum of C(n, k) / 2^n for k < a, in log space to stay finite for large n
        double sum = 0;
        double logC = 0; // log C(n, 0)
        for (int k = 0; k < a; k++) {
            sum += Math.exp(logC - n * Math.log(2));
            logC += Math.log(n - k) - Math.log(k + 1);
        }
        return Math.min(1.0, sum);
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        Votes votes = new Votes();
        List<Sampling.Sample> all = new ArrayList<>();
        List<String> answers = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        double p = 0;
        while (all.size() < maxSamples) {
            int k = Math.min(batch, maxSamples - all.size());
            List<Sampling.Sample> samples = Sampling.sample(scope, inner, prompt, params, all.size(), k);
            for (Sampling.Sample s : samples) {
                Optional<String> a = extractor.extract(s.generation().text());
                all.add(s);
                answers.add(a.orElse(null));
                a.ifPresent(x -> votes.add(x, 1));
            }
            if (samples.size() < k) {
                break;
            }
            if (!votes.isEmpty()) {
                List<String> ranked = votes.ranked();
                int v1 = votes.count(ranked.get(0));
                int v2 = ranked.size() > 1 ? votes.count(ranked.get(1)) : 0;
                p = probabilityLeaderIsMode(v1, v2);
                if (p >= confidence) {
                    break;
                }
            }
        }
        List<Map<String, Object>> rows = Sampling.rows(all);
        for (int i = 0; i < rows.size(); i++) {
            rows.get(i).put("answer", answers.get(i));
        }
        trace.put("samples", all.size());
        trace.put("confidence", p);
        trace.put("candidates", rows);
        trace.put("votes", votes.toTrace());
        if (votes.isEmpty()) {
            trace.put("answer", null);
            return result(scope, all.isEmpty() ? null : all.getFirst().generation(), trace);
        }
        String winner = votes.winner(Seeds.derive(params.seed(), -1));
        trace.put("answer", winner);
        return result(scope, all.get(answers.indexOf(winner)).generation(), trace);
    }
}
