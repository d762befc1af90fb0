package dev.metagen.core;

/** A tokenizer: text to token ids and back, over a vocabulary of byte strings. */
public interface Tokenizer {

    /**
     * Tokenizes {@code text}.
     *
     * @param addSpecial   add BOS/EOS as the model's metadata asks
     * @param parseSpecial recognise the text of special/control tokens (e.g. {@code <s>}) as those tokens
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** Tokenizes plain text: special-token text is not parsed. */
    default int[] encode(String text, boolean addSpecial) {
        return encode(text, addSpecial, false);
    }

    /** Decodes ids to text; control tokens render as nothing, invalid UTF-8 as U+FFFD. */
    String decode(int[] ids);

    int vocabSize();

    /** The bytes this token stands for in the output (empty for control tokens). */
    byte[] tokenBytes(int id);

    /** The token's text as stored in the vocabulary (e.g. {@code ▁the}, {@code <0x0A>}). */
    String tokenText(int id);

    SpecialTokens special();

    /** A decoder that turns a stream of ids into text without ever emitting half a UTF-8 character. */
    default StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }
}
