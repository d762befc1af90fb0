package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;

import dev.metagen.core.SpecialTokens;
import dev.metagen.core.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * What llama.cpp's tokenizers share: special-token partitioning, BOS/EOS on request, and detokenizing
 * ({@code token_to_piece} with special=false, {@code detokenize} with remove_special=false, unparse_special=false).
 *
 * <p>{@link #decode} follows llama.cpp's detokenize except for its {@code clean_spaces} pass (which rewrites
 * " ," to "," and the like for most byte-level vocabularies): we leave the text exactly as the tokens spell it, so
 * decoding is lossless and agrees with {@link dev.metagen.core.StreamingDecoder}. As in llama.cpp, when the
 * vocabulary adds a dummy space prefix, one leading space of the first token's text is dropped.
 */
abstract sealed class VocabularyTokenizer implements Tokenizer permits SentencePieceTokenizer, ByteLevelBpeTokenizer {
    protected final Vocabulary vocab;
    private final byte[][] pieces;
    private final SpecialTokens special;

    VocabularyTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        this.special = vocab.specialTokens();
        this.pieces = new byte[vocab.size()][];
        for (int id = 0; id < vocab.size(); id++) {
            pieces[id] = piece(id);
        }
    }

    /** The bytes of a normal token (not control, user-defined, byte or unused). */
    abstract byte[] normalPiece(String text);

    /** llama.cpp's token_to_piece(special = false). */
    private byte[] piece(int id) {
        int attr = vocab.attrs[id];
        String text = vocab.texts[id];
        if ((attr & (Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_CONTROL)) != 0) {
            return new byte[0];
        }
        if ((attr & Vocabulary.ATTR_USER_DEFINED) != 0) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        if ((attr & Vocabulary.ATTR_NORMAL) != 0) {
            return normalPiece(text);
        }
        if ((attr & Vocabulary.ATTR_BYTE) != 0) {
            // a corrupt vocabulary may mark any text as a byte token
            int b = GgufTokenizers.byteOf(text);
            if (b < 0) {
                throw new MetagenException(vocab.source + ": tokenizer.ggml.tokens[" + id
                        + "] is a byte token but its text is not <0xHH>");
            }
            return new byte[]{(byte) b};
        }
        return new byte[0]; // unused or undefined
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        List<Vocabulary.Fragment> fragments = vocab.partition(text, parseSpecial);
        PreTokenizer.IntList out = new PreTokenizer.IntList();
        if (addSpecial && vocab.addBos && vocab.bos >= 0) {
            out.add(vocab.bos);
        }
        encodeFragments(text, fragments, out);
        if (addSpecial && vocab.addEos && vocab.eos >= 0) {
            out.add(vocab.eos);
        }
        return out.toArray();
    }

    abstract void encodeFragments(String text, List<Vocabulary.Fragment> fragments, PreTokenizer.IntList out);

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean removeSpace = vocab.addSpacePrefix;
        for (int id : ids) {
            byte[] b = tokenBytes(id);
            int from = removeSpace && b.length > 0 && b[0] == ' ' ? 1 : 0;
            out.write(b, from, b.length - from);
            removeSpace = false;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    @Override
    public byte[] tokenBytes(int id) {
        vocab.checkId(id);
        byte[] b = pieces[id];
        return Arrays.copyOf(b, b.length);
    }

    @Override
    public String tokenText(int id) {
        vocab.checkId(id);
        return vocab.texts[id];
    }

    @Override
    public SpecialTokens special() {
        return special;
    }

    /** Whether llama.cpp treats the token as a control token (GGUF type 3, or auto-detected EOT/EOG/FIM text). */
    public boolean isControl(int id) {
        vocab.checkId(id);
        return vocab.has(Vocabulary.ATTR_CONTROL, id);
    }
}
