package dev.metagen.control;

import dev.metagen.core.SpecialTokens;
import dev.metagen.core.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

/** A tokenizer over a given list of byte-string tokens plus one EOS (the last id); encode is not needed. */
final class TestTokenizer implements Tokenizer {
    private final byte[][] tokens;
    private final int eos;

    TestTokenizer(List<byte[]> tokens) {
        this.tokens = new byte[tokens.size() + 1][];
        for (int i = 0; i < tokens.size(); i++) {
            this.tokens[i] = tokens.get(i);
        }
        this.eos = tokens.size();
        this.tokens[eos] = new byte[0];
    }

    static TestTokenizer ofStrings(List<String> tokens) {
        return new TestTokenizer(tokens.stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList());
    }

    int eos() {
        return eos;
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        throw new UnsupportedOperationException();
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(new String(tokens[id], StandardCharsets.UTF_8));
        }
        return sb.toString();
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public byte[] tokenBytes(int id) {
        return tokens[id].clone();
    }

    @Override
    public String tokenText(int id) {
        return id == eos ? "</s>" : new String(tokens[id], StandardCharsets.ISO_8859_1);
    }

    @Override
    public SpecialTokens special() {
        return new SpecialTokens(-1, eos, -1, -1, false, false, Set.of(eos));
    }
}
