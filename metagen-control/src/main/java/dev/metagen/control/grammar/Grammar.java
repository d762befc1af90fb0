package dev.metagen.control.grammar;

import dev.metagen.core.MetagenException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A context-free grammar over UTF-8 bytes: named rules of {@link Expr}, generation starting at {@code root}.
 *
 * @param rules the rules by name
 * @param root the start rule's name
 */
public record Grammar(Map<String, Expr> rules, String root) {
    /** Copies the rules and checks that the start rule exists. */
    public Grammar {
        rules = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(rules));
        if (!rules.containsKey(root)) {
            throw new MetagenException("grammar has no start rule '" + root + "'");
        }
    }

    /**
     * A grammar with a single rule.
     *
     * @param root the only rule's expression
     * @return the grammar
     */
    public static Grammar of(Expr root) {
        return new Grammar(Map.of("root", root), "root");
    }
}
