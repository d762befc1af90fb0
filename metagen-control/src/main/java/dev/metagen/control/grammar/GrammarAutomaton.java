package dev.metagen.control.grammar;

import dev.metagen.core.MetagenException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pushdown recogniser of a {@link CompiledGrammar} (llama.cpp's stack-set algorithm over bytes), made into a
 * lazily built deterministic automaton: stacks are hash-consed nodes, a state is an interned set of stacks, and
 * every (state, byte) transition is computed once and memoised. For a regular grammar this is exactly the lazy
 * subset-construction DFA; for a recursive one the reachable states are still finite per generation.
 *
 * <p>Example:
 * <pre>{@code
 * CompiledGrammar compiled = CompiledGrammar.compile(GbnfParser.parse("root ::= \"a\" [0-9]+"));
 * GrammarAutomaton automaton = new GrammarAutomaton(compiled);
 * int state = automaton.walk(automaton.start(), "a42".getBytes(StandardCharsets.UTF_8));
 * boolean complete = automaton.accepts(state);                    // true
 * boolean more = automaton.canContinue(state);                    // true: more digits may follow
 * int dead = automaton.step(automaton.start(), 'b');             // GrammarAutomaton.DEAD
 * }</pre>
 */
public final class GrammarAutomaton {
    /** The state with no stacks left: nothing can follow. */
    public static final int DEAD = -1;
    private static final int UNKNOWN = -2;
    private static final int MAX_DEPTH = 100_000;
    private static final int MAX_NODES = 4_000_000;

    private final CompiledGrammar g;
    // stack nodes: a resumption position and the node below it (-1 = bottom)
    private int[] nodePos = new int[1024];
    private int[] nodeParent = new int[1024];
    private int[] nodeDepth = new int[1024];
    private int[] nodeCost = new int[1024];
    private int nodeCount;
    private final LongIntMap nodeIds = new LongIntMap(1024);
    private final Expansion scratch = new Expansion();
    // states
    private final List<int[]> stateNodes = new ArrayList<>();
    private final List<Boolean> stateAccepts = new ArrayList<>();
    private final List<Integer> stateDistance = new ArrayList<>();
    private final List<int[]> transitions = new ArrayList<>();
    private final Map<StateKey, Integer> stateIds = new HashMap<>();
    private final int start;
    // fixed when the automaton is built: states are added lazily while decoding, on other threads
    private final int maxStates = CompileBudget.maxStates();
    private final String maxStatesName = CompileBudget.statesLimitName();

    private record StateKey(int[] nodes, boolean accept) {
        @Override
        public boolean equals(Object o) {
            return o instanceof StateKey k && k.accept == accept && Arrays.equals(k.nodes, nodes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(nodes) * 31 + (accept ? 1 : 0);
        }
    }

    /**
     * The automaton of a compiled grammar; states are built lazily.
     *
     * @param g the compiled grammar
     */
    public GrammarAutomaton(CompiledGrammar g) {
        this.g = g;
        Expansion x = new Expansion();
        for (int a : g.ruleAlts[g.root]) {
            x.expand(a, -1);
        }
        this.start = x.intern();
    }

    /**
     * Compiles {@code grammar} and builds its automaton.
     *
     * @param grammar the grammar
     * @return the automaton
     */
    public static GrammarAutomaton of(Grammar grammar) {
        return new GrammarAutomaton(CompiledGrammar.compile(grammar));
    }

    /** {@return the compiled grammar} */
    public CompiledGrammar grammar() {
        return g;
    }

    /** {@return the start state} */
    public int start() {
        return start;
    }

    /**
     * Whether the input so far is a complete sentence.
     *
     * @param state a state
     * @return whether it accepts
     */
    public synchronized boolean accepts(int state) {
        return state >= 0 && stateAccepts.get(state);
    }

    /**
     * The fewest bytes that complete a sentence from this state (0 when it accepts).
     *
     * @param state a state
     * @return the distance in bytes
     */
    public synchronized int distance(int state) {
        return state < 0 ? Integer.MAX_VALUE : stateDistance.get(state);
    }

    /**
     * Whether some byte may follow.
     *
     * @param state a state
     * @return whether some byte may follow
     */
    public synchronized boolean canContinue(int state) {
        return state >= 0 && stateNodes.get(state).length > 0;
    }

    /** {@return the number of states built so far} */
    public synchronized int stateCount() {
        return stateNodes.size();
    }

    /**
     * The state after {@code b} (0..255), or {@link #DEAD}.
     *
     * @param state a state
     * @param b the byte
     * @return the next state
     */
    public synchronized int step(int state, int b) {
        if (state < 0) {
            return DEAD;
        }
        int[] tr = transitions.get(state);
        int t = tr[b];
        if (t == UNKNOWN) {
            t = computeStep(state, b);
            transitions.get(state)[b] = t;
        }
        return t;
    }

    /**
     * The state after all of {@code bytes}, or {@link #DEAD}.
     *
     * @param state a state
     * @param bytes the bytes
     * @return the state reached
     */
    public synchronized int walk(int state, byte[] bytes) {
        for (int i = 0; i < bytes.length && state >= 0; i++) {
            state = step(state, bytes[i] & 0xFF);
        }
        return state;
    }

    /**
     * The memo row of a state: entry b is the next state, {@link #DEAD}, or a negative value below DEAD when not yet
     * computed (then call {@link #step}). For hot loops that hold this automaton's lock.
     *
     * @param state a state
     * @return the row (256 entries)
     */
    public int[] row(int state) {
        return transitions.get(state);
    }

    private int computeStep(int state, int b) {
        Expansion x = scratch;
        x.reset();
        for (int node : stateNodes.get(state)) {
            int pos = nodePos[node];
            if (g.matches(pos, b)) {
                x.expand(pos + 1, nodeParent[node]);
            }
        }
        return x.intern();
    }

    private int node(int pos, int parent) {
        long key = ((long) pos << 32) | (parent & 0xFFFFFFFFL);
        int id = nodeIds.get(key);
        if (id >= 0) {
            return id;
        }
        int depth = parent < 0 ? 1 : nodeDepth[parent] + 1;
        if (depth > MAX_DEPTH) {
            throw new MetagenException("grammar nesting exceeds " + MAX_DEPTH + " levels");
        }
        if (nodeCount >= MAX_NODES) {
            throw new MetagenException("grammar automaton exceeds " + MAX_NODES + " stack nodes");
        }
        if (nodeCount == nodePos.length) {
            nodePos = Arrays.copyOf(nodePos, nodeCount * 2);
            nodeParent = Arrays.copyOf(nodeParent, nodeCount * 2);
            nodeDepth = Arrays.copyOf(nodeDepth, nodeCount * 2);
            nodeCost = Arrays.copyOf(nodeCost, nodeCount * 2);
        }
        nodeCost[nodeCount] = (int) Math.min(Integer.MAX_VALUE / 4, (long) g.minFrom[pos] + (parent < 0 ? 0 : nodeCost[parent]));
        nodePos[nodeCount] = pos;
        nodeParent[nodeCount] = parent;
        nodeDepth[nodeCount] = depth;
        nodeIds.put(key, nodeCount);
        return nodeCount++;
    }

    /** One epsilon-closure: collects the stacks whose top is a terminal, and whether a stack emptied. */
    private final class Expansion {
        final LongIntMap visited = new LongIntMap(64);
        int[] tops = new int[16];
        int n;
        boolean accept;

        void reset() {
            visited.clear();
            n = 0;
            accept = false;
        }

        void expand(int pos, int parent) {
            CompileBudget.tick(1);
            if (!visited.add(((long) pos << 32) | (parent & 0xFFFFFFFFL))) {
                return;
            }
            switch (g.kind[pos]) {
                case CompiledGrammar.END -> {
                    if (parent < 0) {
                        accept = true;
                    } else {
                        expand(nodePos[parent], nodeParent[parent]);
                    }
                }
                case CompiledGrammar.TERM -> {
                    if (n == tops.length) {
                        tops = Arrays.copyOf(tops, n * 2);
                    }
                    tops[n++] = node(pos, parent);
                }
                default -> {
                    // a reference in tail position does not push a continuation (keeps x* loops flat)
                    int cont = g.kind[pos + 1] == CompiledGrammar.END ? parent : node(pos + 1, parent);
                    for (int a : g.ruleAlts[g.arg[pos]]) {
                        expand(a, cont);
                    }
                }
            }
        }

        int intern() {
            if (n == 0 && !accept) {
                return DEAD;
            }
            int[] nodes = Arrays.copyOf(tops, n);
            Arrays.sort(nodes);
            StateKey key = new StateKey(nodes, accept);
            Integer id = stateIds.get(key);
            if (id != null) {
                return id;
            }
            if (stateNodes.size() >= maxStates) {
                throw CompileBudget.tooManyStates(maxStates, maxStatesName);
            }
            int s = stateNodes.size();
            stateNodes.add(nodes);
            stateAccepts.add(accept);
            int dist = accept ? 0 : Integer.MAX_VALUE;
            for (int node : nodes) {
                dist = Math.min(dist, nodeCost[node]);
            }
            stateDistance.add(dist);
            int[] row = new int[256];
            Arrays.fill(row, UNKNOWN);
            transitions.add(row);
            stateIds.put(key, s);
            return s;
        }
    }
}
