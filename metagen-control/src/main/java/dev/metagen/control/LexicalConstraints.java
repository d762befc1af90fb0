package dev.metagen.control;

import dev.metagen.control.grammar.Expr;
import dev.metagen.control.grammar.Grammar;
import dev.metagen.core.MetagenException;
import java.util.List;

/**
 * Lexical constraints (Hokamp and Liu 2017's "must include" terms, here as a regular language rather than grid
 * beam search): the output contains every given word, in any order, so masks, completion distance and the
 * closing phase come from the same grammar engine.
 */
public final class LexicalConstraints {
    private LexicalConstraints() {}

    /**
     * The output contains every one of {@code words} (1 to 5 words, as orders are enumerated).
     *
     * @param words the required words
     * @return the grammar
     */
    public static Grammar containsAll(List<String> words) {
        if (words.isEmpty() || words.size() > 5) {
            throw new MetagenException("lexical constraints take 1 to 5 words, got " + words.size());
        }
        Expr any = new Expr.Repeat(Expr.chars(true), 0, -1);
        List<Expr> orders = new java.util.ArrayList<>();
        permutations(words, 0, orders, any);
        return Grammar.of(new Expr.Alt(orders));
    }

    private static void permutations(List<String> w, int k, List<Expr> out, Expr any) {
        if (k == w.size()) {
            List<Expr> seq = new java.util.ArrayList<>();
            seq.add(any);
            for (String s : w) {
                if (s.isEmpty()) {
                    throw new MetagenException("a lexical constraint word is empty");
                }
                seq.add(Expr.literal(s));
                seq.add(any);
            }
            out.add(new Expr.Seq(seq));
            return;
        }
        for (int i = k; i < w.size(); i++) {
            List<String> c = new java.util.ArrayList<>(w);
            java.util.Collections.swap(c, k, i);
            permutations(c, k + 1, out, any);
        }
    }
}
