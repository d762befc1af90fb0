package dev.metagen.control.bench;

import dev.metagen.control.ConstraintState;
import dev.metagen.control.GrammarConstraint;
import dev.metagen.control.TokenConstraint;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Measures token-mask latency the way generation sees it: a fresh constraint per run (cold caches), then a walk
 * of {@code steps} tokens drawn uniformly among the allowed ones (closing masks in the last third so walks
 * finish), timing every mask. Reports the median and 99th percentile over all steps of all runs.
 */
public final class MaskBench {
    private MaskBench() {}

    /**
     * Latencies in microseconds and how many walks reached a complete output.
     *
     * @param maskMicros the latency of every mask
     * @param coldMaskMicros the latency of every computed (not cached) mask
     * @param runs the number of walks
     * @param completed walks that reached a complete output
     * @param compileMillisMedian the median compile time
     */
    public record Result(double[] maskMicros, double[] coldMaskMicros, int runs, int completed, double compileMillisMedian) {
        /**
         * Median over the masks that were computed rather than served from the per-state cache.
         *
         * @return the median latency in microseconds (0 when none was computed)
         */
        public double coldMedian() {
            if (coldMaskMicros.length == 0) {
                return 0;
            }
            double[] s = coldMaskMicros.clone();
            Arrays.sort(s);
            return s[s.length / 2];
        }

        /** {@return the median mask latency in microseconds} */
        public double median() {
            return percentile(0.5);
        }

        /** {@return the 99th percentile of the mask latency in microseconds} */
        public double p99() {
            return percentile(0.99);
        }

        /**
         * A percentile of the mask latency.
         *
         * @param q the quantile in [0, 1]
         * @return the latency in microseconds (0 when nothing was measured)
         */
        public double percentile(double q) {
            if (maskMicros.length == 0) {
                return 0;
            }
            double[] s = maskMicros.clone();
            Arrays.sort(s);
            return s[Math.min(s.length - 1, (int) Math.floor(q * s.length))];
        }
    }

    /**
     * Runs the benchmark.
     *
     * @param compile compiles a fresh constraint
     * @param runs the number of walks
     * @param steps the tokens per walk
     * @param seed the seed of the token draws
     * @return the latencies
     */
    public static Result run(Supplier<TokenConstraint> compile, int runs, int steps, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] times = new double[runs * steps];
        double[] cold = new double[runs * steps];
        int nCold = 0;
        double[] compile_ms = new double[runs];
        int n = 0;
        int completed = 0;
        for (int r = 0; r < runs; r++) {
            long c0 = System.nanoTime();
            TokenConstraint c = compile.get();
            ConstraintState st = c.start();
            compile_ms[r] = (System.nanoTime() - c0) / 1e6;
            for (int step = 0; step < steps; step++) {
                if (st.mustEnd()) {
                    break;
                }
                boolean closing = step >= steps * 2 / 3;
                long before = c instanceof GrammarConstraint g ? g.maskComputations() : -1;
                long t0 = System.nanoTime();
                long[] mask = closing ? st.closing() : st.allowed();
                times[n++] = (System.nanoTime() - t0) / 1e3;
                if (c instanceof GrammarConstraint g && g.maskComputations() != before) {
                    cold[nCold++] = times[n - 1];
                }
                int token = pick(mask, rnd);
                if (token < 0) {
                    break;
                }
                ConstraintState next;
                try {
                    next = st.advance(token);
                } catch (RuntimeException e) {
                    break; // end-of-generation chosen on a complete output
                }
                if (next == st) {
                    break;
                }
                st = next;
            }
            if (st.isComplete()) {
                completed++;
            }
        }
        Arrays.sort(compile_ms);
        return new Result(Arrays.copyOf(times, n), Arrays.copyOf(cold, nCold), runs, completed, compile_ms[runs / 2]);
    }

    private static int pick(long[] mask, SplittableRandom rnd) {
        int count = 0;
        for (long w : mask) {
            count += Long.bitCount(w);
        }
        if (count == 0) {
            return -1;
        }
        int k = rnd.nextInt(count);
        for (int i = 0; i < mask.length; i++) {
            int c = Long.bitCount(mask[i]);
            if (k < c) {
                long w = mask[i];
                for (int j = 0; j < k; j++) {
                    w &= w - 1;
                }
                return i * 64 + Long.numberOfTrailingZeros(w);
            }
            k -= c;
        }
        return -1;
    }
}
