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
 */
public class MajorityVote extends MetaGenerator {
    private final Generator inner;
    private final int n;
    private final AnswerExtractor extractor;
    private final Scorer weights; // null: one vote each
    private final boolean expWeights;

    public MajorityVote(Generator inner, int n, AnswerExtractor extractor) {
        this(inner, n, extractor, null, false);
    }

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
        for (int i = 0; i < samples.size(); i++) {
            Generation g = samples.get(i).generation();
            Optional<String> a = extractor.extract(g.text());
            rows.get(i).put("answer", a.orElse(null));
            if (a.isEmpty()) {
                continue;
            }
            double w = 1;
            if (weights != null) {
                double s = scope.score(weights, prompt, g);
                w = expWeights ? Math.exp(s) : Math.max(0, s);
                rows.get(i).put("weight", w);
            }
            answers[i] = a.get();
            votes.add(a.get(), w);
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
