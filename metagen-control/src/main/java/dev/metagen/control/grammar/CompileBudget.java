package dev.metagen.control.grammar;

import dev.metagen.core.MetagenException;

import java.util.function.Supplier;

/**
 * Ceilings on compiling one constraint (JSON Schema, GBNF grammar, regex, choice): how many units of work the
 * compilers may spend (grammar rules, elements, schema nodes, automaton stack nodes), how many states the lazily
 * built automaton may ever reach, and a deadline. The compilers call {@link #tick} in their loops; a budget is
 * installed for the current thread by {@link #run}, so a compiler reached deep inside a parser needs no extra
 * parameter. Without one only the compilers' own fixed caps apply.
 *
 * <p>A service that compiles schemas from untrusted requests needs this: a 68 KB schema can otherwise expand into
 * millions of grammar elements, seconds of CPU and gigabytes of memory before the first token.
 */
public final class CompileBudget {
    /** A ceiling was reached: the constraint is too complex for this budget (the caller's input is at fault). */
    public static final class TooComplex extends MetagenException {
        /**
         * An error naming the limit that was reached.
         *
         * @param message the message
         */
        public TooComplex(String message) {
            super(message);
        }
    }

    /** Compilation stopped because the deadline passed or the thread was interrupted (not the input's fault). */
    public static final class Aborted extends MetagenException {
        /** True when the deadline passed; false when the thread was interrupted. */
        public final boolean deadline;

        Aborted(String message, boolean deadline) {
            super(message);
            this.deadline = deadline;
        }
    }

    /** The automaton state ceiling when no budget is installed. */
    public static final int DEFAULT_MAX_STATES = 200_000;
    private static final ThreadLocal<CompileBudget> CURRENT = new ThreadLocal<>();

    private final long maxWork;
    private final int maxStates;
    private final long deadlineNanos;
    private final String workLimitName;
    private final String statesLimitName;
    private long work;
    private long nextCheck;

    /**
     * A budget with these ceilings.
     *
     * @param maxWork         units of compile work (rules, elements, schema nodes, stack nodes) allowed
     * @param maxStates       states the automaton may reach, during compilation and later while decoding
     * @param deadlineNanos   a {@link System#nanoTime} after which compilation stops; {@link Long#MAX_VALUE} for none
     * @param workLimitName   how the work limit is named in messages (e.g. a server flag)
     * @param statesLimitName how the state limit is named in messages
     */
    public CompileBudget(long maxWork, int maxStates, long deadlineNanos, String workLimitName, String statesLimitName) {
        if (maxWork < 1 || maxStates < 1) {
            throw new MetagenException("compile limits must be positive, got work " + maxWork + ", states " + maxStates);
        }
        this.maxWork = maxWork;
        this.maxStates = maxStates;
        this.deadlineNanos = deadlineNanos;
        this.workLimitName = workLimitName;
        this.statesLimitName = statesLimitName;
    }

    /**
     * Runs {@code compile} on this thread under this budget (budgets do not nest: the inner one replaces the outer).
     *
     * @param <T> the compiler's result type
     * @param compile the compilation
     * @return its result
     */
    public <T> T run(Supplier<T> compile) {
        CompileBudget outer = CURRENT.get();
        CURRENT.set(this);
        try {
            return compile.get();
        } finally {
            if (outer == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(outer);
            }
        }
    }

    /**
     * Units of work spent so far.
     *
     * @return the units
     */
    public long work() {
        return work;
    }

    /**
     * Charges {@code units} of work to the current thread's budget, if any; throws when a ceiling or the deadline is passed.
     *
     * @param units the work done
     */
    public static void tick(long units) {
        CompileBudget b = CURRENT.get();
        if (b != null) {
            b.charge(units);
        }
    }

    private void charge(long units) {
        work += units;
        if (work > maxWork) {
            throw new TooComplex("too complex: more than " + maxWork + " grammar elements (" + workLimitName + ")");
        }
        // the clock and the interrupt flag are read every 4096 units: cheap enough for the innermost loops
        if (work >= nextCheck) {
            nextCheck = work + 4096;
            if (Thread.currentThread().isInterrupted()) {
                throw new Aborted("constraint compilation interrupted", false);
            }
            if (System.nanoTime() - deadlineNanos > 0 && deadlineNanos != Long.MAX_VALUE) {
                throw new Aborted("constraint compilation ran past the request deadline", true);
            }
        }
    }

    /**
     * The state ceiling of an automaton built now on this thread.
     *
     * @return the ceiling
     */
    public static int maxStates() {
        CompileBudget b = CURRENT.get();
        return b == null ? DEFAULT_MAX_STATES : b.maxStates;
    }

    /**
     * The name of the state limit of the current thread's budget, or null.
     *
     * @return the name, or null
     */
    public static String statesLimitName() {
        CompileBudget b = CURRENT.get();
        return b == null ? null : b.statesLimitName;
    }

    /**
     * The exception for an automaton that reached its state ceiling.
     *
     * @param max the ceiling
     * @param limitName the limit's name in messages, or null
     * @return the exception
     */
    public static TooComplex tooManyStates(int max, String limitName) {
        return new TooComplex("too complex: more than " + max + " states" + (limitName == null ? "" : " (" + limitName + ")"));
    }
}
