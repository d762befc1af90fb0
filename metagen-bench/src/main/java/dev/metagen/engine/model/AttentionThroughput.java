package dev.metagen.engine.model;

import dev.metagen.engine.testing.AlternatingRounds;

import java.util.SplittableRandom;

/**
 * Manual timing, not a test: one decode step's attention for one layer at a long context (default Qwen2.5-0.5B
 * shape: 14 query heads, 2 KV heads, head size 64, 4096 cached positions), single thread, as the blocked online-softmax
 * loop of {@code TransformerModel.attend} runs it with {@link AttentionKernels} (vector q.k, exp and p.v; the heads of
 * a KV group in turn on each block), the same with one dot product per position for the scores, and as the previous
 * scalar loop did. Alternating rounds timed in thread CPU time, best of each. Run from the repository root after test-compile:
 * {@code java --add-modules jdk.incubator.vector -cp metagen-engine/target/classes:metagen-engine/target/test-classes:metagen-core/target/classes dev.metagen.engine.model.AttentionThroughput 4096 14 2 64}
 */
public final class AttentionThroughput {

    public static void main(String[] args) {
        int ctx = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int heads = args.length > 1 ? Integer.parseInt(args[1]) : 14;
        int kvHeads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int hd = args.length > 3 ? Integer.parseInt(args[3]) : 64;
        int kvDim = kvHeads * hd;
        SplittableRandom r = new SplittableRandom(1);
        float[] keys = new float[ctx * kvDim];
        float[] values = new float[ctx * kvDim];
        float[] q = new float[heads * hd];
        for (float[] a : new float[][] {keys, values, q}) {
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) r.nextGaussian();
            }
        }
        float[] att = new float[heads * hd];
        Runnable vector = () -> grouped(q, keys, values, att, ctx, heads, kvHeads, hd, false);
        Runnable perKey = () -> grouped(q, keys, values, att, ctx, heads, kvHeads, hd, true);
        Runnable scalar = () -> {
            for (int h = 0; h < heads; h++) {
                int kvHead = h / (heads / kvHeads);
                float[] acc = new float[hd];
                float max = Float.NEGATIVE_INFINITY;
                float sum = 0;
                float scale = (float) (1.0 / Math.sqrt(hd));
                for (int t = 0; t < ctx; t++) {
                    int kOff = t * kvDim + kvHead * hd;
                    float score = 0;
                    for (int i = 0; i < hd; i++) {
                        score += q[h * hd + i] * keys[kOff + i];
                    }
                    score *= scale;
                    if (score > max) {
                        float correction = (float) Math.exp(max - score);
                        sum *= correction;
                        for (int i = 0; i < hd; i++) {
                            acc[i] *= correction;
                        }
                        max = score;
                    }
                    float p = (float) Math.exp(score - max);
                    sum += p;
                    for (int i = 0; i < hd; i++) {
                        acc[i] += p * values[kOff + i];
                    }
                }
                for (int i = 0; i < hd; i++) {
                    att[h * hd + i] = acc[i] / sum;
                }
            }
        };
        Runnable[] passes = {vector, perKey, scalar};
        String[] names = {"AttentionKernels", "per-key dot scores", "previous scalar loop"};
        double[] best = AlternatingRounds.bestSecondsPerRun(20, 8, 200_000_000L, AlternatingRounds::threadCpuNanos, passes);
        for (int i = 0; i < best.length; i++) {
            best[i] *= 1e6; // microseconds
        }
        System.out.printf("attention of one decode step, one layer: %d positions, %d heads / %d KV heads of %d, 1 thread%n",
                ctx, heads, kvHeads, hd);
        for (int i = 0; i < passes.length; i++) {
            System.out.printf("  %-22s %8.1f us  (%.1f ns per head and position, %.2fx)%n", names[i], best[i],
                    best[i] * 1e3 / heads / ctx, best[i] / best[0]);
        }
    }

    /**
     * The loop of {@code TransformerModel.attend} over a contiguous cache: per KV head, per block of 16 positions, the
     * heads of its group in turn (scores, rescale, exponentials, weighted values); with {@code perKey} the scores are
     * one {@link AttentionKernels#dot} per position, as before the transposed block of {@code scores}.
     */
    private static void grouped(float[] q, float[] keys, float[] values, float[] att, int ctx, int heads, int kvHeads,
                                int hd, boolean perKey) {
        int group = heads / kvHeads;
        int kvDim = kvHeads * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] scratch = AttentionKernels.scratch();
        float[] p = new float[AttentionKernels.BLOCK];
        for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
            float[] acc = new float[group * hd];
            float[] max = new float[group];
            float[] sum = new float[group];
            java.util.Arrays.fill(max, Float.NEGATIVE_INFINITY);
            for (int t0 = 0; t0 < ctx; t0 += AttentionKernels.BLOCK) {
                int count = Math.min(AttentionKernels.BLOCK, ctx - t0);
                int kOff = t0 * kvDim + kvHead * hd;
                for (int g = 0; g < group; g++) {
                    int qOff = (kvHead * group + g) * hd;
                    if (perKey) {
                        for (int j = 0; j < AttentionKernels.BLOCK; j++) {
                            p[j] = j < count ? AttentionKernels.dot(q, qOff, keys, kOff + j * kvDim, hd, scratch) * scale
                                    : Float.NEGATIVE_INFINITY;
                        }
                    } else {
                        AttentionKernels.scores(q, qOff, keys, kOff, kvDim, count, hd, scale, p, scratch);
                    }
                    AttentionKernels.softmaxBlock(p, count, max, sum, g, acc, g * hd, values, kOff, kvDim, hd);
                }
            }
            for (int g = 0; g < group; g++) {
                for (int i = 0; i < hd; i++) {
                    att[(kvHead * group + g) * hd + i] = acc[g * hd + i] / sum[g];
                }
            }
        }
    }
}
