package dev.metagen.decoding.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A deterministic {@link LanguageModel} for generator tests: a real tokenizer, and logits given by a function
 * of the tokens so far (e.g. "the next token of a script is the most likely").
 */
public final class ScriptedModel implements LanguageModel {
    private final Tokenizer tokenizer;
    private final Function<int[], float[]> logits;

    public ScriptedModel(Tokenizer tokenizer, Function<int[], float[]> logits) {
        this.tokenizer = tokenizer;
        this.logits = logits;
    }

    /** Logits 0 everywhere except {@code high} for the listed ids (first gets 10, second 9, ...). */
    public static float[] ranked(int vocab, int... ids) {
        float[] l = new float[vocab];
        for (int i = 0; i < ids.length; i++) {
            l[ids[i]] = 10 - i;
        }
        return l;
    }

    private static final class State implements ModelState {
        int[] tokens = new int[0];

        @Override
        public int length() {
            return tokens.length;
        }

        @Override
        public int[] tokens() {
            return tokens.clone();
        }

        @Override
        public ModelState fork() {
            State s = new State();
            s.tokens = tokens.clone();
            return s;
        }

        @Override
        public void truncate(int length) {
            tokens = Arrays.copyOf(tokens, length);
        }

        @Override
        public void close() {}
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ModelInfo info() {
        return new ModelInfo("scripted", "none", tokenizer.vocabSize(), 256, 0, 0, 0, "none");
    }

    @Override
    public ModelState newState() {
        return new State();
    }

    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        List<Logits> out = new ArrayList<>();
        for (int i = 0; i < states.size(); i++) {
            State s = (State) states.get(i);
            int[] t = tokens.get(i);
            int n = s.tokens.length;
            s.tokens = Arrays.copyOf(s.tokens, n + t.length);
            System.arraycopy(t, 0, s.tokens, n, t.length);
            out.add(new Logits(logits.apply(s.tokens.clone())));
        }
        return out;
    }

    @Override
    public void close() {}
}
