package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.ScoreHead;
import dev.metagen.meta.Scope;
import dev.metagen.meta.ScopedScorer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * A process reward model (Lightman et al., 2023, "Let's verify step by step"): the candidate is split into steps at
 * {@code stepDelimiter}, each step is followed by {@code stepTag}, and each step gets a score at the tag's last token;
 * the steps' scores are aggregated by {@code aggregate} ({@code min}, {@code last}, {@code prod}, {@code mean}, the
 * choices that Beeching et al., 2024, "Scaling test-time compute with open models", compare). A step's score is
 * either the output {@code label} of the model's score head ({@code goodToken} null), or, as Math-Shepherd
 * (Wang et al., 2024) reads it, the probability of {@code goodToken} against {@code badToken} as the next token,
 * p(good) / (p(good) + p(bad)). The text scored is {@code template} (with {@code {prompt}}) followed by
 * {@code step1 tag delimiter step2 tag ...}, with at most {@code maxSteps} steps. Step-level searches score partial paths, so a path's score is the
 * aggregate over the steps it has so far.
 *
 * <p>Costs: the whole text runs as one sequence; a head reads every position in one model call, the good/bad reading
 * feeds the text up to each tag as one call per step. Should a step's tokenization merge across a tag (its tokens
 * then are not a prefix of the whole text's), each step's text runs as a sequence of its own, one call each.
 */
public final class ProcessRewardScorer implements ScopedScorer {

    /** How the steps' scores make the path's. */
    public enum Aggregate {
        /** The lowest step score (a solution is as good as its worst step). */
        MIN,
        /** The last step's score. */
        LAST,
        /** The product of the step scores. */
        PROD,
        /** The mean of the step scores. */
        MEAN;

        /**
         * The aggregate a spec names.
         *
         * @param s {@code min}, {@code last}, {@code prod} or {@code mean}
         * @return the aggregate, or null for another name
         */
        public static Aggregate parse(String s) {
            for (Aggregate a : values()) {
                if (a.name().toLowerCase(Locale.ROOT).equals(s)) {
                    return a;
                }
            }
            return null;
        }

        double apply(double[] scores) {
            double out = switch (this) {
                case MIN, LAST -> scores[this == MIN ? 0 : scores.length - 1];
                case PROD -> 1;
                case MEAN -> 0;
            };
            for (double s : scores) {
                switch (this) {
                    case MIN -> out = Math.min(out, s);
                    case PROD -> out *= s;
                    case MEAN -> out += s / scores.length;
                    case LAST -> { }
                }
            }
            return out;
        }
    }

    /** The text scored by default: the prompt followed by the partial solution. */
    public static final String DEFAULT_TEMPLATE = "{prompt}";

    private final Supplier<LanguageModel> model;
    private final String template;
    private final String stepDelimiter;
    private final String stepTag;
    private final String goodToken;
    private final String badToken;
    private final String label;
    private final Aggregate aggregate;
    private final boolean parseSpecial;
    private final int maxSteps;

    /**
     * Creates the process reward scorer.
     *
     * @param maxSteps the most steps a candidate is split into (the rest of the text stays in the last step): bounds
     *                 the calls of a good/bad reading, one per step
     *
     * @param model the model
     * @param template the template
     * @param stepDelimiter the step delimiter
     * @param stepTag the step tag
     * @param goodToken the good token
     * @param badToken the bad token
     * @param label the label
     * @param aggregate the aggregate
     * @param parseSpecial the parse special
     */
    public ProcessRewardScorer(Supplier<LanguageModel> model, String template, String stepDelimiter, String stepTag,
                               String goodToken, String badToken, String label, Aggregate aggregate, boolean parseSpecial,
                               int maxSteps) {
        if (stepDelimiter.isEmpty()) {
            throw new MetagenException("prm: step_delimiter must not be empty");
        }
        if ((goodToken == null) != (badToken == null)) {
            throw new MetagenException("prm: good_token and bad_token go together");
        }
        this.model = model;
        this.template = template;
        this.stepDelimiter = stepDelimiter;
        this.stepTag = stepTag;
        this.goodToken = goodToken;
        this.badToken = badToken;
        this.label = label;
        this.aggregate = aggregate;
        this.parseSpecial = parseSpecial;
        if (maxSteps < 1) {
            throw new MetagenException("prm: max_steps must be >= 1, got " + maxSteps);
        }
        this.maxSteps = maxSteps;
    }

    /**
     * The steps of a candidate: its text split at the delimiter, without a trailing empty piece; at least one, at most
     * {@code maxSteps}.
     */
    List<String> steps(String text) {
        List<String> out = new ArrayList<>();
        int from = 0;
        while (out.size() < maxSteps - 1) {
            int at = text.indexOf(stepDelimiter, from);
            if (at < 0) {
                break;
            }
            out.add(text.substring(from, at));
            from = at + stepDelimiter.length();
        }
        if (from < text.length() || out.isEmpty()) {
            out.add(text.substring(from));
        }
        return out;
    }

    /** The texts that end at each step's tag, in order. */
    List<String> stepTexts(String prompt, String candidate) {
        StringBuilder b = new StringBuilder(ScoringPass.fill(template, prompt, ""));
        List<String> texts = new ArrayList<>();
        List<String> steps = steps(candidate);
        for (int i = 0; i < steps.size(); i++) {
            if (i > 0) {
                b.append(stepDelimiter);
            }
            b.append(steps.get(i)).append(stepTag);
            texts.add(b.toString());
        }
        return texts;
    }

    /**
     * The score of each step of {@code candidate}, charged to {@code scope}.
     *
     * @param prompt the prompt
     * @param candidate the candidate
     * @param scope the scope
     * @return the step scores
     */
    public double[] stepScores(Prompt prompt, Generation candidate, Scope scope) {
        LanguageModel m = model.get();
        List<String> texts = stepTexts(prompt.text(), candidate.text());
        ScoringPass.Positions pos = ScoringPass.positions(m.tokenizer(), texts, parseSpecial);
        int k = texts.size();
        if (goodToken == null) {
            ScoreHead head = ScoringPass.head(m, "prm");
            int index = ScoringPass.labelIndex(head.labels(), label);
            if (pos.ends() != null) {
                return ScoringPass.run(scope, 1, pos.tokenCount(), () -> {
                    float[][] rows = head.scorePositions(pos.tokens());
                    double[] out = new double[k];
                    for (int i = 0; i < k; i++) {
                        out[i] = rows[pos.ends()[i] - 1][index];
                    }
                    return out;
                });
            }
            return ScoringPass.run(scope, k, pos.tokenCount(), () -> {
                double[] out = new double[k];
                for (int i = 0; i < k; i++) {
                    out[i] = head.score(pos.prefixes().get(i))[index];
                }
                return out;
            });
        }
        int good = ScoringPass.nextTokenId(m.tokenizer(), texts.getFirst(), goodToken, parseSpecial, "good_token");
        int bad = ScoringPass.nextTokenId(m.tokenizer(), texts.getFirst(), badToken, parseSpecial, "bad_token");
        if (good == bad) {
            throw new MetagenException("prm: good_token '" + goodToken + "' and bad_token '" + badToken
                    + "' start with the same token " + good);
        }
        return ScoringPass.run(scope, k, pos.tokenCount(), () -> {
            double[] out = new double[k];
            if (pos.ends() != null) {
                List<float[]> logits = ScoringPass.logitsAt(m, pos.tokens(), pos.ends());
                for (int i = 0; i < k; i++) {
                    out[i] = ScoringPass.pairProbability(logits.get(i), good, bad);
                }
            } else {
                for (int i = 0; i < k; i++) {
                    int[] p = pos.prefixes().get(i);
                    out[i] = ScoringPass.pairProbability(ScoringPass.logitsAt(m, p, new int[]{p.length}).getFirst(), good, bad);
                }
            }
            return out;
        });
    }

    @Override
    public double score(Prompt prompt, Generation candidate, Scope scope) {
        return aggregate.apply(stepScores(prompt, candidate, scope));
    }
}
