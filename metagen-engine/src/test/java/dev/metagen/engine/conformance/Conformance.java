package dev.metagen.engine.conformance;

import dev.metagen.core.Logits;
import dev.metagen.core.ModelState;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.testing.LlamaCppModel;

import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/**
 * Compares metagen with llama.cpp along llama.cpp's greedy path (teacher forcing: both see the same prefix at every
 * step, so one flipped near-tie does not make all later steps incomparable).
 */
final class Conformance {
    private Conformance() {}

    /**
     * @param steps           steps compared
     * @param maxProbDiff     max over steps of max |p_metagen(id) - p_llamacpp(id)| over llama.cpp's top ids
     * @param worstStep       the step where {@code maxProbDiff} occurs
     * @param greedyAgreement leading steps where metagen's argmax equals llama.cpp's greedy token
     * @param mismatches      steps where the argmax differs
     * @param tieMismatches   of those, steps where llama.cpp itself ranks metagen's choice within {@code tieMargin}
     *                        of its greedy token (a choice outside its top ids counts as probability 0)
     */
    record Report(int steps, double maxProbDiff, int worstStep, int greedyAgreement, int mismatches, int tieMismatches) {
        @Override
        public String toString() {
            return String.format("steps %d, max |dp| %.2e (step %d), greedy agrees for %d, %d mismatches (%d near-ties)",
                    steps, maxProbDiff, worstStep, greedyAgreement, mismatches, tieMismatches);
        }
    }

    static Report compare(TransformerModel model, List<LlamaCppModel.Step> reference, int[] prompt, double tieMargin) {
        ModelState state = model.newState();
        try {
            double worst = 0;
            int worstStep = -1, agreement = -1, mismatches = 0, ties = 0;
            Logits logits = model.forward(state, prompt);
            for (int i = 0; i < reference.size(); i++) {
                LlamaCppModel.Step ref = reference.get(i);
                double[] p = logits.probabilities();
                for (int k = 0; k < ref.ids().length; k++) {
                    double d = Math.abs(p[ref.ids()[k]] - ref.probs()[k]);
                    if (d > worst) {
                        worst = d;
                        worstStep = i;
                    }
                }
                int ours = logits.argmax();
                if (ours != ref.token()) {
                    mismatches++;
                    if (ref.probs()[0] - Math.max(0, ref.probOf(ours)) < tieMargin) {
                        ties++;
                    }
                    if (agreement < 0) {
                        agreement = i;
                    }
                }
                if (i + 1 < reference.size()) {
                    logits = model.forward(state, ref.token()); // follow llama.cpp's path
                }
            }
            return new Report(reference.size(), worst, worstStep, agreement < 0 ? reference.size() : agreement, mismatches, ties);
        } finally {
            state.close();
        }
    }

    /** metagen's own greedy continuation (free running, not teacher-forced). */
    static int[] greedy(TransformerModel model, int[] prompt, int n) {
        ModelState state = model.newState();
        try {
            int[] out = new int[n];
            Logits logits = model.forward(state, prompt);
            for (int i = 0; i < n; i++) {
                out[i] = logits.argmax();
                if (i + 1 < n) {
                    logits = model.forward(state, out[i]);
                }
            }
            return out;
        } finally {
            state.close();
        }
    }

    /** The same model, next to it, with every tensor dequantized to F32 by metagen's kernels (checked against ggml). */
    static Path dequantizedCopy(Path file) {
        Path out = file.resolveSibling(file.getFileName().toString().replace(".gguf", "-as-f32.gguf"));
        try (GgufFile f = GgufFile.open(file)) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> {
                if (!k.equals("general.file_type")) {
                    w.put(k, v);
                }
            });
            for (GgufTensorInfo t : f.tensors().values()) {
                if (t.type() == GgmlType.F32) {
                    w.addTensor(t.name(), t.shape(), GgmlType.F32, () -> f.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                } else {
                    w.addTensor(t.name(), t.shape(), GgmlType.F32, () -> dequantize(f, t));
                }
            }
            w.write(out);
        }
        return out;
    }

    private static byte[] dequantize(GgufFile f, GgufTensorInfo t) {
        int n = Math.toIntExact(t.elementCount());
        float[] values = new float[n];
        TypeKernels.of(t.type(), t.name()).dequantize(f.tensorData(t), 0, values, 0, n);
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }
}
