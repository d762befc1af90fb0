package dev.metagen.engine.synth;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A generated SentencePiece-style vocabulary (llama.cpp tokenizer model {@code llama}): {@code <unk>}, {@code <s>},
 * {@code </s>}, the 256 byte-fallback tokens {@code <0x00>..<0xFF>}, then pieces over a small alphabet in order of
 * length (each with and without the word-start mark {@code ▁}), scored by rank so that longer pieces are reachable
 * by SentencePiece's greedy bigram merges from shorter ones.
 */
final class BuiltinVocab {
    static final int UNK = 0;
    static final int BOS = 1;
    static final int EOS = 2;
    /** llama.cpp token types. */
    private static final int NORMAL = 1;
    private static final int UNKNOWN = 2;
    private static final int CONTROL = 3;
    private static final int BYTE = 6;
    private static final String ALPHABET = "etaoinshrdlucmfwypvbgkjqxz";
    private static final String EXTRA = ".,!?'\"-:;()0123456789ETAOINSHRDLUCMFWYPVBGKJQXZ";

    private BuiltinVocab() {}

    /** Smallest vocabulary: control tokens and bytes. */
    static final int MIN_SIZE = 3 + 256;

    static void write(GgufWriter w, int size) {
        if (size < MIN_SIZE) {
            throw new MetagenException("synth: the built-in vocabulary needs at least " + MIN_SIZE
                    + " tokens, got vocab " + size);
        }
        String[] tokens = new String[size];
        float[] scores = new float[size];
        int[] types = new int[size];
        tokens[UNK] = "<unk>";
        types[UNK] = UNKNOWN;
        tokens[BOS] = "<s>";
        types[BOS] = CONTROL;
        tokens[EOS] = "</s>";
        types[EOS] = CONTROL;
        for (int b = 0; b < 256; b++) {
            tokens[3 + b] = String.format("<0x%02X>", b);
            types[3 + b] = BYTE;
        }
        List<String> pieces = pieces(size - MIN_SIZE);
        for (int i = 0; i < pieces.size(); i++) {
            tokens[MIN_SIZE + i] = pieces.get(i);
            scores[MIN_SIZE + i] = -i;
            types[MIN_SIZE + i] = NORMAL;
        }
        w.putString("tokenizer.ggml.model", "llama");
        w.put("tokenizer.ggml.tokens", GgufValue.ofArray(tokens));
        w.put("tokenizer.ggml.scores", GgufValue.ofArray(scores));
        w.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(types));
        w.putUInt32("tokenizer.ggml.bos_token_id", BOS);
        w.putUInt32("tokenizer.ggml.eos_token_id", EOS);
        w.putUInt32("tokenizer.ggml.unknown_token_id", UNK);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
    }

    /** {@code n} distinct pieces: ▁, single characters, then letter strings of growing length. */
    private static List<String> pieces(int n) {
        Set<String> out = new LinkedHashSet<>();
        out.add("▁");
        for (char c : (ALPHABET + EXTRA).toCharArray()) {
            out.add("▁" + c);
            out.add(String.valueOf(c));
        }
        List<String> level = new ArrayList<>();
        for (char c : ALPHABET.toCharArray()) {
            level.add(String.valueOf(c));
        }
        while (out.size() < n) {
            List<String> next = new ArrayList<>();
            for (String s : level) {
                for (char c : ALPHABET.toCharArray()) {
                    next.add(s + c);
                }
            }
            for (String s : next) {
                out.add("▁" + s);
                out.add(s);
                if (out.size() >= n) {
                    break;
                }
            }
            level = next;
        }
        List<String> list = new ArrayList<>(out);
        return list.subList(0, Math.min(n, list.size()));
    }
}
