package dev.metagen.meta.score;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.core.Tokenizer;
import dev.metagen.meta.Scope;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One scoring computation of a reward model or verifier, run as a leaf call of the caller's scope: it is reserved
 * against the budget as {@code calls} model calls and no generated tokens, charged with the prompt tokens it fed, and
 * a cancellation or deadline that arrives while it runs stops the strategy when it returns.
 */
final class ScoringPass implements Generator {
    private final long calls;
    private final java.util.function.LongSupplier promptTokens;
    private final Supplier<double[]> body;

    private ScoringPass(long calls, java.util.function.LongSupplier promptTokens, Supplier<double[]> body) {
        this.calls = calls;
        this.promptTokens = promptTokens;
        this.body = body;
    }

    /** Runs {@code body} through {@code scope} as {@code calls} model calls over {@code promptTokens} tokens. */
    static double[] run(Scope scope, long calls, long promptTokens, Supplier<double[]> body) {
        return run(scope, calls, () -> promptTokens, body);
    }

    /** As above, with the prompt tokens known once {@code body} has run (a remote server reports them). */
    static double[] run(Scope scope, long calls, java.util.function.LongSupplier promptTokens, Supplier<double[]> body) {
        Generation g = scope.call(new ScoringPass(calls, promptTokens, body), Prompt.of(""), GenerationParams.greedy(1));
        return (double[]) g.trace().get("scores");
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        long t0 = System.nanoTime();
        double[] scores = body.get();
        return new Generation("", new int[0], new double[0], FinishReason.STOP,
                new Cost(promptTokens.getAsLong(), 0, calls, 0, Duration.ofNanos(System.nanoTime() - t0)), Map.of("scores", scores));
    }

    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        return calls;
    }

    @Override
    public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
        return 0;
    }

    /**
     * The tokens of the longest text and where each of the increasing texts ends in them. Each text is tokenized
     * whole; when one's tokens are not a prefix of the longest text's (a merge across the boundary), {@code ends} is
     * null and each text must run as a sequence of its own ({@link #prefixes}).
     */
    record Positions(int[] tokens, int[] ends, List<int[]> prefixes) {
        long tokenCount() {
            if (ends != null) {
                return tokens.length;
            }
            long n = 0;
            for (int[] p : prefixes) {
                n += p.length;
            }
            return n;
        }
    }

    static Positions positions(Tokenizer tokenizer, List<String> texts, boolean parseSpecial) {
        List<int[]> all = new ArrayList<>(texts.size());
        for (String t : texts) {
            int[] ids = tokenizer.encode(t, true, parseSpecial);
            if (ids.length == 0) {
                throw new MetagenException("score: the text to score has no tokens");
            }
            all.add(ids);
        }
        int[] full = all.getLast();
        int[] ends = new int[texts.size()];
        for (int i = 0; i < all.size(); i++) {
            int[] p = all.get(i);
            if (p.length > full.length || !Arrays.equals(p, 0, p.length, full, 0, p.length)) {
                return new Positions(full, null, all);
            }
            ends[i] = p.length;
        }
        return new Positions(full, ends, all);
    }

    /**
     * The id of the first token that {@code continuation} adds after {@code context} (the context tokenized whole,
     * then with the continuation): the token a verifier or process reward model reads at that position.
     */
    static int nextTokenId(Tokenizer tokenizer, String context, String continuation, boolean parseSpecial, String field) {
        int[] a = tokenizer.encode(context, true, parseSpecial);
        int[] b = tokenizer.encode(context + continuation, true, parseSpecial);
        if (b.length > a.length && Arrays.equals(a, 0, a.length, b, 0, a.length)) {
            return b[a.length];
        }
        int[] alone = tokenizer.encode(continuation, false, parseSpecial);
        if (alone.length == 0) {
            throw new MetagenException(field + " '" + continuation + "' has no tokens");
        }
        return alone[0];
    }

    /**
     * The logits after each of {@code ends} (token counts of {@code tokens}) in one sequence, fed piece by piece:
     * one model call per piece, memory for the whole sequence reserved first.
     */
    static List<float[]> logitsAt(LanguageModel model, int[] tokens, int[] ends) {
        List<float[]> out = new ArrayList<>(ends.length);
        try (ModelState s = model.newState(); MemoryReservation r = reserve(s, tokens.length)) {
            int at = 0;
            for (int e : ends) {
                if (e == at && !out.isEmpty()) {
                    out.add(out.getLast()); // an empty piece: the same position is read again
                    continue;
                }
                out.add(model.forward(s, Arrays.copyOfRange(tokens, at, e)).values());
                at = e;
            }
        }
        return out;
    }

    private static MemoryReservation reserve(ModelState s, int tokens) {
        try {
            return s.reserve(tokens);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MetagenException("interrupted while waiting for KV memory");
        }
    }

    /** p(a) / (p(a) + p(b)) from logits: the softmax over the two tokens alone. */
    static double pairProbability(float[] logits, int a, int b) {
        return 1 / (1 + Math.exp((double) logits[b] - logits[a]));
    }

    /** {@code template} with {@code {prompt}} and {@code {candidate}} filled in one pass (neither text is read for placeholders). */
    static String fill(String template, String prompt, String candidate) {
        StringBuilder out = new StringBuilder(template.length() + prompt.length() + candidate.length());
        int i = 0;
        while (i < template.length()) {
            if (template.startsWith("{prompt}", i)) {
                out.append(prompt);
                i += "{prompt}".length();
            } else if (template.startsWith("{candidate}", i)) {
                out.append(candidate);
                i += "{candidate}".length();
            } else {
                out.append(template.charAt(i++));
            }
        }
        return out.toString();
    }

    /** The index of {@code label} (an output's name, or its index as a number) among a head's outputs. */
    static int labelIndex(java.util.List<String> labels, String label) {
        int i = labels.indexOf(label);
        if (i >= 0) {
            return i;
        }
        if (label.matches("\\d{1,9}") && Integer.parseInt(label) < labels.size()) {
            return Integer.parseInt(label);
        }
        throw new MetagenException("label '" + label + "' is not an output of the score head (outputs: "
                + String.join(", ", labels) + ")");
    }

    /** The model's score head, or a one-line error naming the model. */
    static dev.metagen.core.ScoreHead head(LanguageModel model, String scorer) {
        return model.scoreHead().orElseThrow(() -> new MetagenException(scorer + ": model " + model.info().name()
                + " has no score head (a reward model carries cls.output tensors)"));
    }
}
