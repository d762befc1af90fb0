package dev.metagen.meta.parallel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** A tally of (weighted) votes for answers; ties between leaders are broken uniformly at random with a seed. */
public final class Votes {
    private final Map<String, Double> weight = new LinkedHashMap<>();
    private final Map<String, Integer> count = new LinkedHashMap<>();

    /** An empty tally. */
    public Votes() {
    }

    /**
     * Adds a vote.
     *
     * @param answer the answer voted for
     * @param w the vote's weight
     */
    public void add(String answer, double w) {
        weight.merge(answer, w, Double::sum);
        count.merge(answer, 1, Integer::sum);
    }

    /** {@return whether no vote was cast} */
    public boolean isEmpty() {
        return weight.isEmpty();
    }

    /**
     * The number of votes for {@code answer}.
     *
     * @param answer an answer
     * @return the count
     */
    public int count(String answer) {
        return count.getOrDefault(answer, 0);
    }

    /**
     * Answers sorted by weight, heaviest first (first-seen order among equals).
     *
     * @return the answers
     */
    public List<String> ranked() {
        List<String> out = new ArrayList<>(weight.keySet());
        out.sort((a, b) -> Double.compare(weight.get(b), weight.get(a)));
        return out;
    }

    /**
     * The heaviest answer; a tie is broken uniformly at random by {@code seed}, so voting stays unbiased.
     *
     * @param seed the tie-break seed
     * @return the winning answer
     */
    public String winner(long seed) {
        List<String> ranked = ranked();
        double top = weight.get(ranked.getFirst());
        List<String> tied = new ArrayList<>();
        for (String a : ranked) {
            if (weight.get(a) == top) {
                tied.add(a);
            }
        }
        return tied.size() == 1 ? tied.getFirst() : tied.get(new SplittableRandom(seed).nextInt(tied.size()));
    }

    /**
     * The tally as answer to weight, heaviest first.
     *
     * @return the trace map
     */
    public Map<String, Object> toTrace() {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String a : ranked()) {
            m.put(a, weight.get(a));
        }
        return m;
    }
}
