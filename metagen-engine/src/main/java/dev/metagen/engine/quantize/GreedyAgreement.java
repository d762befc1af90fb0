package dev.metagen.engine.quantize;

import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;

import java.nio.file.Path;

/**
 * How closely a quantized model follows its source: greedy decoding from BOS on both {@link TransformerModel}s,
 * the quantized one teacher-forced along the source's tokens, so every step compares next-token distributions
 * over the same context.
 *
 * @param steps          greedy tokens decoded from the source
 * @param agreeing       leading steps where both argmaxes agree (= the free-running greedy agreement)
 * @param maxTopProbDiff max over steps of |p_source - p_quantized| on the source's top-10 next tokens
 */
public record GreedyAgreement(int steps, int agreeing, double maxTopProbDiff) {

    /** Number of most likely source tokens whose probabilities are compared at each step. */
    public static final int TOP = 10;

    /** Decodes {@code steps} greedy tokens from BOS with {@code source} and compares {@code quantized} along them. */
    public static GreedyAgreement measure(Path source, Path quantized, int steps, int threads) {
        if (steps <= 0) {
            throw new MetagenException("greedy check: steps must be > 0, got " + steps);
        }
        int context = steps + 1;
        try (GgufFile f = GgufFile.open(source)) {
            String arch = f.getString("general.architecture", "");
            int max = f.getInt(arch + ".context_length", Integer.MAX_VALUE);
            if (context > max) {
                throw new MetagenException("greedy check: " + steps + " tokens exceed the context length " + max
                        + " of " + source);
            }
        }
        ModelOptions options = new ModelOptions(threads, context);
        try (TransformerModel a = TransformerModel.load(source, options);
             TransformerModel b = TransformerModel.load(quantized, options)) {
            int bos = a.tokenizer().special().bos();
            if (bos < 0) {
                throw new MetagenException("greedy check: " + source + " has no BOS token to start from");
            }
            ModelState sa = a.newState();
            ModelState sb = b.newState();
            try {
                int agreeing = -1;
                double worst = 0;
                Logits la = a.forward(sa, bos);
                Logits lb = b.forward(sb, bos);
                for (int i = 0; i < steps; i++) {
                    int token = la.argmax();
                    if (agreeing < 0 && lb.argmax() != token) {
                        agreeing = i;
                    }
                    worst = Math.max(worst, topProbDiff(la, lb));
                    if (i + 1 < steps) {
                        la = a.forward(sa, token);
                        lb = b.forward(sb, token); // follow the source's path
                    }
                }
                return new GreedyAgreement(steps, agreeing < 0 ? steps : agreeing, worst);
            } finally {
                sa.close();
                sb.close();
            }
        }
    }

    /** max |Δp| over the {@link #TOP} most likely tokens of {@code a}. */
    static double topProbDiff(Logits a, Logits b) {
        double[] pa = a.probabilities();
        double[] pb = b.probabilities();
        boolean[] taken = new boolean[pa.length];
        double worst = 0;
        for (int k = 0; k < Math.min(TOP, pa.length); k++) {
            int best = -1;
            for (int i = 0; i < pa.length; i++) {
                if (!taken[i] && (best < 0 || pa[i] > pa[best])) {
                    best = i;
                }
            }
            taken[best] = true;
            worst = Math.max(worst, Math.abs(pa[best] - pb[best]));
        }
        return worst;
    }
}
