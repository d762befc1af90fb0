package dev.metagen.control;

import dev.metagen.control.grammar.Grammar;
import dev.metagen.control.grammar.GrammarAutomaton;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * A byte-level grammar or regular language turned into token masks: the vocabulary trie is walked against the
 * lazily built {@link GrammarAutomaton}, pruning at dead states, and each automaton state's mask is cached as a
 * bitset, so a mask is computed once per distinct state and then costs a lookup.
 */
public final class GrammarConstraint implements TokenConstraint {
    private final GrammarAutomaton automaton;
    private final Vocabulary vocab;
    private final String description;
    private final List<long[]> masks = new ArrayList<>();
    private final List<long[]> closingMasks = new ArrayList<>();
    /** Per automaton state: the bytes that lead back to the same state (4 words), computed on first use. */
    private final List<long[]> selfLoops = new ArrayList<>();
    private final int words;
    private long maskComputations;

    /**
     * A constraint from an automaton and a vocabulary.
     *
     * @param automaton the grammar's automaton
     * @param vocab the vocabulary
     * @param description the description for traces and errors
     */
    public GrammarConstraint(GrammarAutomaton automaton, Vocabulary vocab, String description) {
        this.automaton = automaton;
        this.vocab = vocab;
        this.description = description;
        this.words = (vocab.size + 63) >>> 6;
    }

    /**
     * A constraint from a grammar, for {@code tok}.
     *
     * @param grammar the grammar
     * @param tok the tokenizer
     * @param description the description for traces and errors
     * @return the constraint
     */
    public static GrammarConstraint of(Grammar grammar, Tokenizer tok, String description) {
        return new GrammarConstraint(GrammarAutomaton.of(grammar), Vocabulary.of(tok), description);
    }

    /** {@return the grammar's automaton} */
    public GrammarAutomaton automaton() {
        return automaton;
    }

    /** {@return the vocabulary} */
    public Vocabulary vocabulary() {
        return vocab;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public ConstraintState start() {
        return new State(automaton.start());
    }

    /**
     * The state reached from the start after {@code bytes} (for prompt continuation and tests).
     *
     * @param bytes the bytes
     * @return the state
     */
    public ConstraintState afterBytes(byte[] bytes) {
        int s = automaton.walk(automaton.start(), bytes);
        if (s < 0) {
            throw new MetagenException("the text does not start a valid output for " + description);
        }
        return new State(s);
    }

    /**
     * How many masks were computed rather than served from the cache.
     *
     * @return the count
     */
    public synchronized long maskComputations() {
        return maskComputations;
    }

    /** The mask of automaton state {@code s}, computed on first use. */
    long[] mask(int s) {
        synchronized (automaton) {
            while (masks.size() <= s) {
                masks.add(null);
            }
            long[] m = masks.get(s);
            if (m == null) {
                m = computeMask(s);
                masks.set(s, m);
                maskComputations++;
            }
            return m;
        }
    }

    /** The closing mask of state {@code s}: tokens that strictly reduce the distance to completion. */
    long[] closingMask(int s) {
        synchronized (automaton) {
            while (closingMasks.size() <= s) {
                closingMasks.add(null);
            }
            long[] m = closingMasks.get(s);
            if (m == null) {
                maskComputations++;
                if (automaton.accepts(s)) {
                    m = new long[words];
                    for (int id : vocab.endOfGeneration) {
                        m[id >>> 6] |= 1L << (id & 63);
                    }
                } else {
                    m = computeMask(s, automaton.distance(s));
                }
                closingMasks.set(s, m);
            }
            return m;
        }
    }

    private long[] computeMask(int s) {
        return computeMask(s, Integer.MAX_VALUE);
    }

    /** Trie walk; with a finite {@code below}, only tokens ending in a state closer than that to completion. */
    private long[] computeMask(int s, int below) {
        long[] m = new long[words];
        Vocabulary v = vocab;
        // iterative DFS over the trie; each entry is (trie node, automaton state)
        int[] nodeStack = new int[256];
        int[] stateStack = new int[256];
        int sp = 0;
        nodeStack[sp] = 0;
        stateStack[sp] = s;
        sp++;
        while (sp > 0) {
            sp--;
            int node = nodeStack[sp];
            int st = stateStack[sp];
            int from = v.childStart[node];
            int to = from + v.childCount[node];
            int[] row = automaton.row(st);
            for (int c = from; c < to; c++) {
                int next = row[v.childByte[c]];
                if (next < GrammarAutomaton.DEAD) {
                    next = automaton.step(st, v.childByte[c]);
                }
                if (next < 0) {
                    continue;
                }
                int child = v.childNode[c];
                if (below == Integer.MAX_VALUE && next == st && v.childCount[child] > 0 && covered(v, child, next)) {
                    // a self-loop (e.g. inside a JSON string) whose bytes cover every token below: allow the subtree at once
                    for (int t = v.tokenStart[child]; t < v.tokenStart[child + v.subtreeSize[child]]; t++) {
                        int id = v.tokenIds[t];
                        m[id >>> 6] |= 1L << (id & 63);
                    }
                    continue;
                }
                if (below == Integer.MAX_VALUE || automaton.distance(next) < below) {
                    for (int t = v.tokenStart[child]; t < v.tokenStart[child + 1]; t++) {
                        int id = v.tokenIds[t];
                        m[id >>> 6] |= 1L << (id & 63);
                    }
                }
                if (v.childCount[child] > 0) {
                    if (sp == nodeStack.length) {
                        nodeStack = java.util.Arrays.copyOf(nodeStack, sp * 2);
                        stateStack = java.util.Arrays.copyOf(stateStack, sp * 2);
                    }
                    nodeStack[sp] = child;
                    stateStack[sp] = next;
                    sp++;
                }
            }
        }
        if (below == Integer.MAX_VALUE && automaton.accepts(s)) {
            for (int id : v.endOfGeneration) {
                m[id >>> 6] |= 1L << (id & 63);
            }
        }
        return m;
    }

    /**
     * Whether every token below {@code node} keeps state {@code s}: its ASCII bytes all loop on s, and its other
     * bytes either loop too or form complete UTF-8 characters that all lead back to s.
     */
    private boolean covered(Vocabulary v, int node, int s) {
        long[] self = selfLoop(s);
        int o = node * 4;
        if ((v.subtreeBytes[o] & ~self[0]) != 0 || (v.subtreeBytes[o + 1] & ~self[1]) != 0) {
            return false;
        }
        if ((v.subtreeBytes[o + 2] & ~self[2]) == 0 && (v.subtreeBytes[o + 3] & ~self[3]) == 0) {
            return true;
        }
        return v.utf8Clean[node] && unicodeLoop(s);
    }

    private final List<Boolean> unicodeLoops = new ArrayList<>();

    /** Whether every non-ASCII character, byte by byte, leads from s back to s (computed once per state). */
    private boolean unicodeLoop(int s) {
        while (unicodeLoops.size() <= s) {
            unicodeLoops.add(null);
        }
        Boolean r = unicodeLoops.get(s);
        if (r == null) {
            r = true;
            for (int[] seq : dev.metagen.control.grammar.Utf8Ranges.sequences(new int[] {0x80, 0x10FFFF})) {
                java.util.Set<Integer> states = java.util.Set.of(s);
                for (int k = 0; k < seq.length && r; k += 2) {
                    java.util.Set<Integer> next = new java.util.HashSet<>();
                    for (int st : states) {
                        for (int b = seq[k]; b <= seq[k + 1]; b++) {
                            int t = automaton.step(st, b);
                            if (t < 0) {
                                r = false;
                                break;
                            }
                            next.add(t);
                        }
                    }
                    states = next;
                }
                if (!r || !states.equals(java.util.Set.of(s))) {
                    r = false;
                    break;
                }
            }
            unicodeLoops.set(s, r);
        }
        return r;
    }

    /** The bytes b with step(s, b) == s (caller holds the automaton lock). */
    private long[] selfLoop(int s) {
        while (selfLoops.size() <= s) {
            selfLoops.add(null);
        }
        long[] self = selfLoops.get(s);
        if (self == null) {
            self = new long[4];
            for (int b = 0; b < 256; b++) {
                if (automaton.step(s, b) == s) {
                    self[b >>> 6] |= 1L << (b & 63);
                }
            }
            selfLoops.set(s, self);
        }
        return self;
    }

    private final class State implements ConstraintState {
        private final int s;

        State(int s) {
            this.s = s;
        }

        @Override
        public long[] allowed() {
            return mask(s);
        }

        @Override
        public long[] closing() {
            return closingMask(s);
        }

        @Override
        public int distance() {
            return automaton.distance(s);
        }

        @Override
        public ConstraintState advance(int token) {
            if (vocab.isEndOfGeneration(token)) {
                if (!automaton.accepts(s)) {
                    throw new MetagenException("end of generation is not allowed here by " + description);
                }
                return this;
            }
            if (token < 0 || token >= vocab.size) {
                throw new MetagenException("token " + token + " is outside the vocabulary of " + vocab.size);
            }
            byte[] b = vocab.tokenBytes[token];
            int next = b.length == 0 ? GrammarAutomaton.DEAD : automaton.walk(s, b);
            if (next < 0) {
                throw new MetagenException("token " + token + " is not allowed here by " + description);
            }
            return new State(next);
        }

        @Override
        public boolean isComplete() {
            return automaton.accepts(s);
        }

        @Override
        public boolean mustEnd() {
            return !automaton.canContinue(s);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof State st && st.s == s && st.outer() == GrammarConstraint.this;
        }

        private GrammarConstraint outer() {
            return GrammarConstraint.this;
        }

        @Override
        public int hashCode() {
            return s;
        }
    }
}
