package dev.metagen.cli;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Ctrl-C while the model answers stops the answer, not the program: SIGINT then only sets a flag that the
 * generation loop polls before each token. At the prompt, Ctrl-C keeps its usual meaning and ends the program.
 * Tests drive it through {@link #request()} instead of a real signal.
 */
final class AnswerInterrupt implements BooleanSupplier, AutoCloseable {
    private final AtomicBoolean requested = new AtomicBoolean();
    private volatile boolean answering;
    private final sun.misc.Signal signal;
    private final sun.misc.SignalHandler previous;

    private AnswerInterrupt(boolean installHandler) {
        sun.misc.Signal sig = null;
        sun.misc.SignalHandler prev = null;
        if (installHandler) {
            try {
                sig = new sun.misc.Signal("INT");
                prev = sun.misc.Signal.handle(sig, s -> onSignal());
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                sig = null; // no SIGINT here (or the JVM reserves it): answers then run to their end
            }
        }
        this.signal = sig;
        this.previous = prev;
    }

    /** With a SIGINT handler for the terminal. */
    static AnswerInterrupt install() {
        return new AnswerInterrupt(true);
    }

    /** Without a signal handler, for tests and embedding. */
    static AnswerInterrupt manual() {
        return new AnswerInterrupt(false);
    }

    private void onSignal() {
        if (answering) {
            requested.set(true);
        } else if (previous != null && signal != null) {
            previous.handle(signal); // the default: shut the JVM down
        }
    }

    /** An answer starts: earlier requests are forgotten. */
    void beginAnswer() {
        requested.set(false);
        answering = true;
    }

    void endAnswer() {
        answering = false;
    }

    /** What Ctrl-C does during an answer: ask the generation loop to stop at its next token. */
    void request() {
        if (answering) {
            requested.set(true);
        }
    }

    @Override
    public boolean getAsBoolean() {
        return requested.get();
    }

    @Override
    public void close() {
        if (signal != null && previous != null) {
            sun.misc.Signal.handle(signal, previous);
        }
    }
}
