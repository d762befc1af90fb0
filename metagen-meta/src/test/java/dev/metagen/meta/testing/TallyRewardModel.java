package dev.metagen.meta.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.ScoreHead;
import dev.metagen.core.SpecialTokens;
import dev.metagen.core.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A reward model whose scores can be computed by hand: one token per byte (id = byte + 1, BOS = 0), and after a
 * prefix the tally t = (number of 'g') - (number of 'b') so far. Its score head outputs t at every position; its
 * next-token logits are t for '+' and 'Y', 0 for '-' and 'N', and -100 for every other token, so p(+) / (p(+) + p(-))
 * = sigmoid(t). Counts the positions it computes and the passes (head calls and forwards) it makes.
 */
public final class TallyRewardModel implements LanguageModel {
    public static final int VOCAB = 257;
    public final AtomicLong passes = new AtomicLong();
    public final AtomicLong positions = new AtomicLong();
    private final boolean head;

    public TallyRewardModel(boolean head) {
        this.head = head;
    }

    public static int id(char c) {
        return c + 1;
    }

    static double tally(int[] tokens, int upTo) {
        int t = 0;
        for (int i = 0; i < upTo; i++) {
            t += tokens[i] == id('g') ? 1 : tokens[i] == id('b') ? -1 : 0;
        }
        return t;
    }

    /** The tally of a text, as the model sees it. */
    public static double tally(String text) {
        return text.chars().map(c -> c == 'g' ? 1 : c == 'b' ? -1 : 0).sum();
    }

    public static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    private final Tokenizer tokenizer = new Tokenizer() {
        @Override
        public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
            byte[] b = text.getBytes(StandardCharsets.UTF_8);
            int[] out = new int[b.length + (addSpecial ? 1 : 0)];
            int o = addSpecial ? 1 : 0;
            for (int i = 0; i < b.length; i++) {
                out[o + i] = (b[i] & 0xff) + 1;
            }
            return out;
        }

        @Override
        public String decode(int[] ids) {
            StringBuilder s = new StringBuilder();
            for (int id : ids) {
                if (id > 0) {
                    s.append((char) (id - 1));
                }
            }
            return s.toString();
        }

        @Override
        public int vocabSize() {
            return VOCAB;
        }

        @Override
        public byte[] tokenBytes(int id) {
            return id == 0 ? new byte[0] : new byte[]{(byte) (id - 1)};
        }

        @Override
        public String tokenText(int id) {
            return id == 0 ? "<s>" : String.valueOf((char) (id - 1));
        }

        @Override
        public SpecialTokens special() {
            return new SpecialTokens(0, -1, -1, -1, true, false, java.util.Set.of());
        }
    };

    private static final class State implements ModelState {
        final List<Integer> tokens = new ArrayList<>();

        @Override
        public int length() {
            return tokens.size();
        }

        @Override
        public int[] tokens() {
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }

        @Override
        public ModelState fork() {
            State s = new State();
            s.tokens.addAll(tokens);
            return s;
        }

        @Override
        public void truncate(int length) {
            tokens.subList(length, tokens.size()).clear();
        }

        @Override
        public void close() {
        }
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ModelInfo info() {
        return new ModelInfo("tally", "test", VOCAB, 4096, 1, 1, 0, "F32");
    }

    @Override
    public ModelState newState() {
        return new State();
    }

    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
        List<Logits> out = new ArrayList<>();
        for (int i = 0; i < states.size(); i++) {
            passes.incrementAndGet();
            positions.addAndGet(tokens.get(i).length);
            State s = (State) states.get(i);
            for (int t : tokens.get(i)) {
                s.tokens.add(t);
            }
            int[] all = s.tokens();
            float t = (float) tally(all, all.length);
            float[] l = new float[VOCAB];
            Arrays.fill(l, -100);
            l[id('+')] = t;
            l[id('Y')] = t;
            l[id('-')] = 0;
            l[id('N')] = 0;
            out.add(new Logits(l));
        }
        return out;
    }

    @Override
    public Optional<ScoreHead> scoreHead() {
        if (!head) {
            return Optional.empty();
        }
        return Optional.of(new ScoreHead() {
            @Override
            public List<String> labels() {
                return List.of("reward");
            }

            @Override
            public float[][] scorePositions(int[] tokens) {
                passes.incrementAndGet();
                positions.addAndGet(tokens.length);
                float[][] out = new float[tokens.length][];
                for (int i = 0; i < tokens.length; i++) {
                    out[i] = new float[]{(float) tally(tokens, i + 1)};
                }
                return out;
            }
        });
    }

    @Override
    public void close() {
    }
}
