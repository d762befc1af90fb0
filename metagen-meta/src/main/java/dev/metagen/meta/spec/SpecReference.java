package dev.metagen.meta.spec;

import dev.metagen.core.GenerationFields;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The spec reference read from a parser's own registry: every registered type (strategies, leaves, scorers,
 * extractors, utilities) with the fields its builder reads. Each builder is run on empty probe nodes that record
 * every field asked for (the same record {@link SpecNode#requireAllUsed} checks specs against), with stand-ins for
 * the parts it builds from (an inner generator, a scorer); builders that branch on optional parts are run once per
 * combination of them, so fields read on every branch are found.
 */
public final class SpecReference {
    /** How many optional parts of one builder are tried both present and absent (2^this runs at most). */
    private static final int MAX_OPTIONAL = 4;

    /**
     * One type of the registry.
     *
     * @param kind     strategy, leaf, scorer, extractor, utility or budget
     * @param keys     the fields it reads, nested ones of its own objects written {@code vote.votes} or {@code stages[].verifier}
     * @param complete false when no run of the builder finished (its fields after the failing check are missing)
     * @param type the type's name
     */
    public record Entry(String kind, String type, List<String> keys, boolean complete) {
    }

    private SpecReference() {
    }

    /**
     * Every type {@code specs} knows, by kind, with its fields.
     *
     * @param specs the registry
     * @return the types
     */
    public static List<Entry> of(StrategySpecs specs) {
        List<Entry> out = new ArrayList<>();
        for (String type : specs.strategyTypes()) {
            out.add(probe("strategy", type, n -> specs.buildStrategy(type, n)));
        }
        for (String type : new TreeSet<>(specs.leafTypes())) {
            out.add(probe("leaf", type, n -> specs.buildLeaf(type, n)));
        }
        for (String type : specs.scorerTypes()) {
            out.add(probe("scorer", type, n -> specs.buildScorer(type, n)));
        }
        for (String type : specs.extractorTypes()) {
            out.add(probe("extractor", type, n -> specs.buildExtractor(type, n)));
        }
        for (String type : specs.utilityTypes()) {
            out.add(probe("utility", type, n -> specs.buildUtility(type, n)));
        }
        out.add(probe("budget", "budget", StrategySpecs::budget));
        return out;
    }

    /**
     * The fields every leaf takes besides its own: the generation fields, the same on every front end.
     *
     * @return the field names
     */
    public static List<String> generationFields() {
        return List.copyOf(new TreeSet<>(GenerationFields.ALL));
    }

    /**
     * The reference as JSON-friendly maps: {@code {"kind": {"type": {"keys": [...], "complete": bool}}}} and the generation fields.
     *
     * @param entries the types
     * @return the reference
     */
    public static Map<String, Object> toJson(List<Entry> entries) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Entry e : entries) {
            @SuppressWarnings("unchecked")
            Map<String, Object> kind = (Map<String, Object>) out.computeIfAbsent(e.kind(), k -> new LinkedHashMap<String, Object>());
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("keys", e.keys());
            t.put("complete", e.complete());
            kind.put(e.type(), t);
        }
        out.put("generation_fields", generationFields());
        return out;
    }

    private static Entry probe(String kind, String type, Consumer<SpecNode> build) {
        TreeSet<String> keys = new TreeSet<>();
        boolean complete = false;
        int optional = 0;
        for (int mask = 0; mask < 1 << optional || mask == 0; mask++) {
            Probe p = new Probe(mask);
            SpecNode root = SpecNode.probe("$", p);
            try {
                build.accept(root);
                complete = true;
            } catch (RuntimeException e) {
                // a check that an empty spec cannot pass: the fields read before it still count
            }
            keys.addAll(root.used());
            keys.addAll(p.nestedKeys());
            optional = Math.min(MAX_OPTIONAL, Math.max(optional, p.optionalSeen));
            if (complete && mask + 1 >= 1 << optional) {
                break;
            }
        }
        keys.remove("type");
        return new Entry(kind, type, List.copyOf(keys), complete);
    }

    /** The state of one probing run, shared by its nodes: which optional parts are given, and the nodes made. */
    static final class Probe {
        private final int mask;
        private int optionalSeen;
        private final List<Object[]> children = new ArrayList<>(); // {parent, field, child}

        Probe(int mask) {
            this.mask = mask;
        }

        /** Whether the next optional part ({@code child(field)}) is given in this run. */
        boolean optionalChild() {
            int i = optionalSeen++;
            return i < MAX_OPTIONAL && (mask >> i & 1) == 1;
        }

        SpecNode child(SpecNode parent, String field) {
            SpecNode c = SpecNode.probe(parent.path(field), this);
            children.add(new Object[]{parent, field, c});
            return c;
        }

        /**
         * Fields of the builder's own objects ({@code vote}, {@code stages[]}), written with their path; a part
         * built as a component (it read {@code type}: a generator, a scorer ...) has its own entry instead.
         */
        List<String> nestedKeys() {
            Map<SpecNode, String> prefix = new java.util.IdentityHashMap<>();
            List<String> out = new ArrayList<>();
            for (Object[] c : children) {
                SpecNode parent = (SpecNode) c[0];
                SpecNode child = (SpecNode) c[2];
                if (child.used().contains("type")) {
                    continue;
                }
                String pre = (prefix.containsKey(parent) ? prefix.get(parent) + "." : "") + c[1];
                if (prefix.containsKey(parent) || !parent.path().contains(".")) {
                    prefix.put(child, pre);
                    for (String k : Set.copyOf(child.used())) {
                        out.add(pre + "." + k);
                    }
                }
            }
            return out;
        }
    }
}
