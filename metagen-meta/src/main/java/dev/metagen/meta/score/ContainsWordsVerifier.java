package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A lexical constraint verifier: accepts a candidate containing every given word (whole words, case-insensitive);
 * as a scorer it gives the fraction of words present, so it also works as a partial-credit process reward.
 *
 * @param words the required words
 */
public record ContainsWordsVerifier(List<String> words) implements Verifier {
    /** Checks and copies the words. */
    public ContainsWordsVerifier {
        words = List.copyOf(words);
    }

    /**
     * The words {@code text} lacks.
     *
     * @param text the candidate's text
     * @return the missing words, in order
     */
    public List<String> missing(String text) {
        List<String> out = new ArrayList<>();
        for (String w : words) {
            Pattern p = Pattern.compile("\\b" + Pattern.quote(w.toLowerCase(Locale.ROOT)) + "\\b");
            if (!p.matcher(text.toLowerCase(Locale.ROOT)).find()) {
                out.add(w);
            }
        }
        return out;
    }

    @Override
    public Verdict verify(Prompt prompt, Generation candidate) {
        List<String> m = missing(candidate.text());
        return new Verdict(m.isEmpty(), m.isEmpty() ? "contains all words" : "missing words: " + String.join(", ", m));
    }

    @Override
    public double score(Prompt prompt, Generation candidate) {
        return words.isEmpty() ? 1.0 : 1.0 - (double) missing(candidate.text()).size() / words.size();
    }
}
