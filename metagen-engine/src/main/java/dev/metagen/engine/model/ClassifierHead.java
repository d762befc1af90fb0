package dev.metagen.engine.model;

import dev.metagen.core.MetagenException;
import dev.metagen.core.ScoreHead;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.tensor.Matrix;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The score head of a reward model or reranker, as llama.cpp's {@code build_pooling} applies it under
 * {@code LLAMA_POOLING_TYPE_RANK}: on a final-norm hidden state h, {@code tanh(cls * h + cls.bias)} when the file
 * has {@code cls.weight}, then {@code cls.output * . + cls.output.bias}, then a softmax over the outputs for qwen3
 * (the Qwen3 rerankers' yes/no head). The sequence score is the last token's (llama.cpp pools qwen3's rank output at
 * the last token; the engine's other architectures, which llama.cpp gives no head, pool the same way, as Hugging
 * Face's {@code *ForSequenceClassification} models do).
 */
final class ClassifierHead implements ScoreHead {
    private final TransformerModel model;
    private final Weights.Head head;
    private final List<String> labels;
    private final boolean softmax;

    ClassifierHead(TransformerModel model, Weights.Head head, GgufFile file, ModelConfig config) {
        this.model = model;
        this.head = head;
        String key = config.arch().ggufName() + ".classifier.output_labels";
        String[] names = file.has(key) ? file.getStringArray(key) : null;
        List<String> l = new ArrayList<>();
        for (int i = 0; i < head.outputs(); i++) {
            l.add(names != null && i < names.length ? names[i] : "LABEL_" + i);
        }
        this.labels = List.copyOf(l);
        this.softmax = config.arch() == Architecture.QWEN3 && head.out() != null;
        long pooling = file.getLong(config.arch().ggufName() + ".pooling_type", 4);
        if (pooling == 1) {
            // mean pooling before the head is modern-bert's alone in llama.cpp; silently pooling another way would differ
            throw file.invalid(config.arch().ggufName() + ".pooling_type is 1 (mean): the engine pools a score head at the last token only");
        }
    }

    @Override
    public List<String> labels() {
        return labels;
    }

    @Override
    public boolean probabilities() {
        return softmax;
    }

    @Override
    public float[][] scorePositions(int[] tokens) {
        if (tokens == null || tokens.length == 0) {
            throw new MetagenException("score: no tokens given");
        }
        float[][] hidden = model.hiddenStates(tokens);
        float[][] out = new float[hidden.length][];
        for (int i = 0; i < hidden.length; i++) {
            out[i] = apply(hidden[i]);
        }
        return out;
    }

    /** The head on one hidden state, in double sums as the dot products of the matrices give them. */
    float[] apply(float[] h) {
        float[] x = h;
        if (head.dense() != null) {
            x = project(head.dense(), x, head.denseBias());
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.tanh(x[i]);
            }
        }
        if (head.out() != null) {
            x = project(head.out(), x, head.outBias());
        }
        if (softmax) {
            double max = Double.NEGATIVE_INFINITY;
            for (float v : x) {
                max = Math.max(max, v);
            }
            double sum = 0;
            double[] e = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                e[i] = Math.exp(x[i] - max);
                sum += e[i];
            }
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (e[i] / sum);
            }
        }
        return x == h ? Arrays.copyOf(h, h.length) : x;
    }

    private static float[] project(Matrix w, float[] x, float[] bias) {
        float[] y = new float[w.rows()];
        w.matvec(x, y, 0, w.rows());
        if (bias != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] += bias[i];
            }
        }
        return y;
    }
}
