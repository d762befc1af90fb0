package dev.metagen.control.grammar;

import dev.metagen.core.MetagenException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Grammar} flattened to llama.cpp-style rule tables over bytes: each rule is a list of alternatives,
 * each alternative a run of elements (byte-set terminal or rule reference) closed by an END element.
 * Compilation checks that the language is not empty (every kept alternative can finish) and rejects
 * left recursion, so the pushdown {@link GrammarAutomaton} never hangs nor reaches a dead end.
 *
 * <p>Example:
 * <pre>{@code
 * CompiledGrammar compiled = CompiledGrammar.compile(GbnfParser.parse("root ::= \"a\" [0-9]+"));
 * GrammarAutomaton automaton = new GrammarAutomaton(compiled);
 * int state = automaton.walk(automaton.start(), "a42".getBytes(StandardCharsets.UTF_8));
 * boolean complete = automaton.accepts(state);                    // true
 * }</pre>
 */
public final class CompiledGrammar {
    static final int TERM = 0;
    static final int REF = 1;
    static final int END = 2;

    final int[] kind;
    final int[] arg;
    final long[] byteSets;   // 4 words per terminal set
    final int[][] ruleAlts;  // element index where each alternative starts
    final String[] ruleNames;
    final int root;
    /** Fewest bytes that finish the alternative from each element position to its END. */
    final int[] minFrom;

    private CompiledGrammar(int[] kind, int[] arg, long[] byteSets, int[][] ruleAlts, String[] ruleNames, int root) {
        this.kind = kind;
        this.arg = arg;
        this.byteSets = byteSets;
        this.ruleAlts = ruleAlts;
        this.ruleNames = ruleNames;
        this.root = root;
        this.minFrom = minimumLengths();
    }

    private static final int INF = Integer.MAX_VALUE / 4;

    private int[] minimumLengths() {
        int[] ruleMin = new int[ruleAlts.length];
        java.util.Arrays.fill(ruleMin, INF);
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int r = 0; r < ruleAlts.length; r++) {
                for (int a : ruleAlts[r]) {
                    long len = 0;
                    for (int p = a; kind[p] != END; p++) {
                        len += kind[p] == TERM ? 1 : ruleMin[arg[p]];
                    }
                    if (len < ruleMin[r]) {
                        ruleMin[r] = (int) len;
                        changed = true;
                    }
                }
            }
        }
        int[] from = new int[kind.length];
        for (int p = kind.length - 1; p >= 0; p--) {
            from[p] = kind[p] == END ? 0 : (int) Math.min(INF, (long) from[p + 1] + (kind[p] == TERM ? 1 : ruleMin[arg[p]]));
        }
        return from;
    }

    /** {@return the number of rules} */
    public int ruleCount() {
        return ruleAlts.length;
    }

    /** {@return the number of grammar elements (positions of the compiled rules)} */
    public int elementCount() {
        return kind.length;
    }

    boolean matches(int pos, int b) {
        return (byteSets[arg[pos] * 4 + (b >>> 6)] >>> (b & 63) & 1L) != 0;
    }

    /**
     * Compiles {@code g}; errors name the offending rule.
     *
     * @param g the grammar
     * @return the compiled grammar
     */
    public static CompiledGrammar compile(Grammar g) {
        return new Builder(g).build();
    }

    /** An atom of an alternative: a terminal (byte-set id) or a rule reference. */
    private record Atom(boolean term, int id) {}

    private static final class Builder {
        final Grammar grammar;
        final List<String> names = new ArrayList<>();
        final List<List<List<Atom>>> rules = new ArrayList<>();
        final Map<String, Integer> ids = new HashMap<>();
        final List<long[]> sets = new ArrayList<>();
        final Map<String, Integer> setIds = new HashMap<>();
        final Map<String, Integer> classRules = new HashMap<>();
        final int[] byteSets = new int[256];

        Builder(Grammar g) {
            this.grammar = g;
        }

        int newRule(String name) {
            CompileBudget.tick(1);
            if (names.size() >= 1_000_000) {
                throw new MetagenException("grammar too large: more than 1000000 rules (near rule '" + name + "')");
            }
            names.add(name);
            rules.add(null);
            return names.size() - 1;
        }

        CompiledGrammar build() {
            for (String name : grammar.rules().keySet()) {
                ids.put(name, newRule(name));
            }
            for (var e : grammar.rules().entrySet()) {
                rules.set(ids.get(e.getKey()), alts(e.getValue(), e.getKey()));
            }
            int root = ids.get(grammar.root());
            prune(root);
            checkLeftRecursion();
            return flatten(root);
        }

        List<List<Atom>> alts(Expr e, String where) {
            List<List<Atom>> out = new ArrayList<>();
            if (e instanceof Expr.Alt(List<Expr> options)) {
                for (Expr o : options) {
                    out.addAll(alts(o, where));
                }
            } else {
                List<Atom> seq = new ArrayList<>();
                seq(e, seq, where);
                out.add(seq);
            }
            return out;
        }

        void seq(Expr e, List<Atom> out, String where) {
            switch (e) {
                case Expr.Literal(byte[] bytes) -> {
                    CompileBudget.tick(bytes.length);
                    for (byte b : bytes) {
                        out.add(new Atom(true, set(b & 0xFF, b & 0xFF)));
                    }
                }
                case Expr.CharClass c -> charClass(c, out, where);
                case Expr.Ref(String name) -> {
                    CompileBudget.tick(1);
                    Integer id = ids.get(name);
                    if (id == null) {
                        throw new MetagenException("grammar rule '" + where + "' refers to undefined rule '" + name + "'");
                    }
                    out.add(new Atom(false, id));
                }
                case Expr.Seq(List<Expr> items) -> {
                    for (Expr i : items) {
                        seq(i, out, where);
                    }
                }
                case Expr.Alt(List<Expr> options) -> {
                    if (options.size() == 1) {
                        seq(options.getFirst(), out, where);
                    } else {
                        int r = newRule(where + "-alt");
                        rules.set(r, alts(e, where));
                        out.add(new Atom(false, r));
                    }
                }
                case Expr.Repeat(Expr item, int min, int max) -> repeat(item, min, max, out, where);
            }
        }

        void repeat(Expr item, int min, int max, List<Atom> out, String where) {
            if (max >= 0 && max < min) {
                throw new MetagenException("grammar rule '" + where + "' has a repetition {" + min + "," + max + "} with max < min");
            }
            if (min > 100_000 || max > 100_000) {
                throw new MetagenException("grammar rule '" + where + "' repeats more than 100000 times");
            }
            List<Atom> x = new ArrayList<>();
            seq(item, x, where);
            if ((long) x.size() * Math.max(min, max) > 2_000_000) {
                throw new MetagenException("grammar too large: rule '" + where + "' repeats " + x.size() + " elements " + Math.max(min, max) + " times");
            }
            for (int i = 0; i < min; i++) {
                CompileBudget.tick(x.size());
                out.addAll(x);
            }
            if (max < 0) {
                // R ::= x R | ε  (tail recursion keeps the automaton's stacks flat)
                int r = newRule(where + "-star");
                List<Atom> loop = new ArrayList<>(x);
                loop.add(new Atom(false, r));
                rules.set(r, List.of(loop, List.of()));
                out.add(new Atom(false, r));
            } else if (max > min) {
                // O_k ::= x O_{k-1} | ε, nested so at most (max - min) more copies
                int prev = -1;
                for (int k = 1; k <= max - min; k++) {
                    CompileBudget.tick(x.size());
                    int r = newRule(where + "-opt");
                    List<Atom> body = new ArrayList<>(x);
                    if (prev >= 0) {
                        body.add(new Atom(false, prev));
                    }
                    rules.set(r, List.of(body, List.of()));
                    prev = r;
                }
                out.add(new Atom(false, prev));
            }
        }

        void charClass(Expr.CharClass c, List<Atom> out, String where) {
            if (c.bytes()) {
                long[] bits = new long[4];
                int[] r = c.ranges();
                for (int i = 0; i < r.length; i += 2) {
                    for (int b = Math.max(0, r[i]); b <= Math.min(255, r[i + 1]); b++) {
                        bits[b >>> 6] |= 1L << (b & 63);
                    }
                }
                if (c.negated()) {
                    for (int i = 0; i < 4; i++) {
                        bits[i] = ~bits[i];
                    }
                }
                out.add(new Atom(true, set(bits)));
                return;
            }
            int[] norm = Utf8Ranges.normalize(c.ranges(), c.negated());
            String key = Arrays.toString(norm);
            Integer cached = classRules.get(key);
            if (cached != null) {
                out.add(cached >= 0 ? new Atom(false, cached) : new Atom(true, -cached - 1));
                return;
            }
            List<int[]> seqs = Utf8Ranges.sequences(norm);
            long[] single = new long[4];
            List<List<Atom>> multi = new ArrayList<>();
            for (int[] s : seqs) {
                if (s.length == 2) {
                    for (int b = s[0]; b <= s[1]; b++) {
                        single[b >>> 6] |= 1L << (b & 63);
                    }
                } else {
                    List<Atom> alt = new ArrayList<>();
                    for (int i = 0; i < s.length; i += 2) {
                        alt.add(new Atom(true, set(s[i], s[i + 1])));
                    }
                    multi.add(alt);
                }
            }
            boolean anySingle = (single[0] | single[1] | single[2] | single[3]) != 0;
            if (multi.isEmpty() && anySingle) {
                int id = set(single);
                classRules.put(key, -id - 1);
                out.add(new Atom(true, id));
                return;
            }
            List<List<Atom>> alts = new ArrayList<>();
            if (anySingle) {
                alts.add(List.of(new Atom(true, set(single))));
            }
            alts.addAll(multi);
            int r = newRule(where + "-char");
            rules.set(r, alts); // an empty class has no alternatives: pruned as unproductive
            classRules.put(key, r);
            out.add(new Atom(false, r));
        }

        int set(int lo, int hi) {
            if (lo == hi && lo >= 0 && lo < 256) {
                // literals go byte by byte: keep the id of each single-byte set instead of rebuilding its key
                if (byteSets[lo] == 0) {
                    byteSets[lo] = set(bits(lo, hi)) + 1;
                }
                return byteSets[lo] - 1;
            }
            return set(bits(lo, hi));
        }

        static long[] bits(int lo, int hi) {
            long[] bits = new long[4];
            for (int b = lo; b <= hi; b++) {
                bits[b >>> 6] |= 1L << (b & 63);
            }
            return bits;
        }

        int set(long[] bits) {
            String key = bits[0] + ":" + bits[1] + ":" + bits[2] + ":" + bits[3];
            return setIds.computeIfAbsent(key, k -> {
                sets.add(bits.clone());
                return sets.size() - 1;
            });
        }

        boolean emptySet(int id) {
            long[] s = sets.get(id);
            return (s[0] | s[1] | s[2] | s[3]) == 0;
        }

        /** Drops alternatives that can never finish; fails when the start rule itself cannot. */
        void prune(int root) {
            int n = rules.size();
            boolean[] productive = new boolean[n];
            boolean changed = true;
            while (changed) {
                changed = false;
                CompileBudget.tick(n);
                for (int r = 0; r < n; r++) {
                    if (productive[r]) {
                        continue;
                    }
                    for (List<Atom> alt : rules.get(r)) {
                        if (altProductive(alt, productive)) {
                            productive[r] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }
            if (!productive[root]) {
                throw new MetagenException("the constraint can never be satisfied: rule '" + names.get(root) + "' matches no string");
            }
            for (int r = 0; r < n; r++) {
                List<List<Atom>> kept = new ArrayList<>();
                for (List<Atom> alt : rules.get(r)) {
                    if (altProductive(alt, productive)) {
                        kept.add(alt);
                    }
                }
                rules.set(r, kept);
            }
        }

        boolean altProductive(List<Atom> alt, boolean[] productive) {
            for (Atom a : alt) {
                if (a.term() ? emptySet(a.id()) : !productive[a.id()]) {
                    return false;
                }
            }
            return true;
        }

        /** Left recursion through a non-tail reference would grow the automaton's stacks forever. */
        void checkLeftRecursion() {
            int n = rules.size();
            boolean[] nullable = new boolean[n];
            boolean changed = true;
            while (changed) {
                changed = false;
                CompileBudget.tick(n);
                for (int r = 0; r < n; r++) {
                    if (nullable[r]) {
                        continue;
                    }
                    for (List<Atom> alt : rules.get(r)) {
                        boolean all = true;
                        for (Atom a : alt) {
                            if (a.term() || !nullable[a.id()]) {
                                all = false;
                                break;
                            }
                        }
                        if (all) {
                            nullable[r] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }
            List<List<Integer>> edges = new ArrayList<>();
            List<int[]> nonTail = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                List<Integer> out = new ArrayList<>();
                for (List<Atom> alt : rules.get(r)) {
                    for (int i = 0; i < alt.size(); i++) {
                        Atom a = alt.get(i);
                        if (a.term()) {
                            break;
                        }
                        out.add(a.id());
                        if (i < alt.size() - 1) {
                            nonTail.add(new int[] {r, a.id()});
                        }
                        if (!nullable[a.id()]) {
                            break;
                        }
                    }
                }
                edges.add(out);
            }
            for (int[] e : nonTail) {
                // is e[0] reachable from e[1]?
                BitSet seen = new BitSet(n);
                ArrayDeque<Integer> todo = new ArrayDeque<>();
                todo.add(e[1]);
                seen.set(e[1]);
                while (!todo.isEmpty()) {
                    CompileBudget.tick(1);
                    int r = todo.poll();
                    if (r == e[0]) {
                        throw new MetagenException("grammar rule '" + names.get(e[0]) + "' is left-recursive (via '"
                                + names.get(e[1]) + "'); rewrite it with repetition");
                    }
                    for (int next : edges.get(r)) {
                        if (!seen.get(next)) {
                            seen.set(next);
                            todo.add(next);
                        }
                    }
                }
            }
        }

        CompiledGrammar flatten(int root) {
            int total = 0;
            for (List<List<Atom>> r : rules) {
                for (List<Atom> alt : r) {
                    total += alt.size() + 1;
                }
            }
            int[] kind = new int[total];
            int[] arg = new int[total];
            int[][] ruleAlts = new int[rules.size()][];
            int p = 0;
            for (int r = 0; r < rules.size(); r++) {
                List<List<Atom>> alts = rules.get(r);
                ruleAlts[r] = new int[alts.size()];
                for (int a = 0; a < alts.size(); a++) {
                    ruleAlts[r][a] = p;
                    for (Atom atom : alts.get(a)) {
                        kind[p] = atom.term() ? TERM : REF;
                        arg[p] = atom.id();
                        p++;
                    }
                    kind[p++] = END;
                }
            }
            long[] bits = new long[sets.size() * 4];
            for (int i = 0; i < sets.size(); i++) {
                System.arraycopy(sets.get(i), 0, bits, 4 * i, 4);
            }
            return new CompiledGrammar(kind, arg, bits, ruleAlts, names.toArray(String[]::new), root);
        }
    }
}
