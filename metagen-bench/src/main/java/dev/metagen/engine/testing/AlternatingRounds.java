package dev.metagen.engine.testing;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.LongSupplier;

/**
 * The timing loop of the manual throughput tools (not tests): each pass is warmed up, then the passes alternate
 * in rounds of at least a minimum time each, and the best round of every pass counts, so load on a shared machine
 * hurts all passes alike.
 */
public final class AlternatingRounds {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private AlternatingRounds() {
    }

    /** Thread CPU time: the time this thread is descheduled on a shared machine does not count. */
    public static long threadCpuNanos() {
        return THREADS.getCurrentThreadCpuTime();
    }

    /**
     * The best seconds per run of each pass: {@code warmups} runs of each first, then {@code rounds} rounds in which
     * every pass runs repeatedly for at least {@code minNanos} of {@code clock}.
     */
    public static double[] bestSecondsPerRun(int warmups, int rounds, long minNanos, LongSupplier clock,
                                             Runnable... passes) {
        for (Runnable p : passes) {
            for (int i = 0; i < warmups; i++) {
                p.run();
            }
        }
        double[] best = new double[passes.length];
        java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < passes.length; i++) {
                int n = 0;
                long t0 = clock.getAsLong();
                long t;
                do {
                    passes[i].run();
                    n++;
                    t = clock.getAsLong();
                } while (t - t0 < minNanos);
                best[i] = Math.min(best[i], (t - t0) / 1e9 / n);
            }
        }
        return best;
    }
}
