package dev.metagen.control.grammar;

import dev.metagen.core.MetagenException;
import java.util.LinkedHashMap;
import java.util.Map;

/** A context-free grammar over UTF-8 bytes: named rules of {@link Expr}, generation starting at {@code root}. */
public record Grammar(Map<String, Expr> rules, String root) {
    public Grammar {
        rules = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(rules));
        if (!rules.containsKey(root)) {
            throw new MetagenException("grammar has no start rule '" + root + "'");
        }
    }

    /** A grammar with a single rule. */
    public static Grammar of(Expr root) {
        return new Grammar(Map.of("root", root), "root");
    }
}
