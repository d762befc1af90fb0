package dev.metagen.engine.model;

import dev.metagen.core.ModelState;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Manual timing, not a test: batched decode steps alone, as {@code bench --batch} runs them but without sampling or
 * the single-sequence runs around them: a prompt of PROMPT random tokens is computed once, forked N times, and STEPS
 * forwards of one token per fork follow; it prints the median and fastest step and the aggregate tokens/s of the
 * median. Meant for A/B runs and for profiling the batched step (attach JFR). Run from the repository root after
 * test-compile:
 * {@code java --add-modules jdk.incubator.vector -cp metagen-engine/target/classes:metagen-engine/target/test-classes:metagen-core/target/classes dev.metagen.engine.model.BatchStepTiming FILE.gguf 16 512 40}
 */
public final class BatchStepTiming {

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int promptLength = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        int threads = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        try (TransformerModel m = TransformerModel.load(file, new ModelOptions(threads, promptLength + steps + 8))) {
            int[] prompt = new SplittableRandom(1).ints(promptLength, 0, Math.min(1000, m.info().vocabSize())).toArray();
            List<ModelState> states = new ArrayList<>();
            try (ModelState root = m.newState()) {
                m.forward(root, prompt);
                for (int i = 0; i < n; i++) {
                    states.add(root.fork());
                }
            }
            SplittableRandom random = new SplittableRandom(7);
            double[] ms = new double[steps];
            for (int s = 0; s < steps; s++) {
                List<int[]> next = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    next.add(new int[] {random.nextInt(Math.min(1000, m.info().vocabSize()))});
                }
                long t0 = System.nanoTime();
                m.forward(states, next);
                ms[s] = (System.nanoTime() - t0) / 1e6;
            }
            for (ModelState s : states) {
                s.close();
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            System.out.printf("%s: %d sequences after a %d-token prompt, %d threads: step median %.1f ms, fastest %.1f ms"
                    + " -> %.1f tokens/s aggregate (median)%n", file.getFileName(), n, promptLength, threads,
                    sorted[steps / 2], sorted[0], n * 1000.0 / sorted[steps / 2]);
        }
    }
}
