package dev.metagen.core;

/**
 * A tokenizer: text to token ids and back, over a vocabulary of byte strings.
 *
 * <p>Example:
 * <pre>{@code
 * int[] ids = tok.encode("Hello world", true);   // BOS added as the model asks
 * String text = tok.decode(ids);
 * StreamingDecoder stream = tok.streamingDecoder();
 * StringBuilder out = new StringBuilder();
 * for (int id : ids) {
 *     out.append(stream.accept(id));              // only complete UTF-8 characters
 * }
 * out.append(stream.flush());
 * }</pre>
 */
public interface Tokenizer {

    /**
     * Tokenizes {@code text}.
     *
     * @param addSpecial   add BOS/EOS as the model's metadata asks
     * @param parseSpecial recognise the text of special/control tokens (e.g. {@code <s>}) as those tokens
     * @param text the text
     * @return the token ids
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * Tokenizes plain text: special-token text is not parsed.
     *
     * @param text the text
     * @param addSpecial add BOS/EOS as the model's metadata asks
     * @return the token ids
     */
    default int[] encode(String text, boolean addSpecial) {
        return encode(text, addSpecial, false);
    }

    /**
     * Decodes ids to text; control tokens render as nothing, invalid UTF-8 as U+FFFD.
     *
     * @param ids the token ids
     * @return the text
     */
    String decode(int[] ids);

    /**
     * The vocabulary size.
     *
     * @return the number of tokens
     */
    int vocabSize();

    /**
     * The bytes this token stands for in the output (empty for control tokens).
     *
     * @param id the token id
     * @return the bytes
     */
    byte[] tokenBytes(int id);

    /**
     * The token's text as stored in the vocabulary (e.g. {@code ▁the}, {@code <0x0A>}).
     *
     * @param id the token id
     * @return the stored text
     */
    String tokenText(int id);

    /**
     * The special tokens.
     *
     * @return their ids and flags
     */
    SpecialTokens special();

    /**
     * A decoder that turns a stream of ids into text without ever emitting half a UTF-8 character.
     *
     * @return a new decoder
     */
    default StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }
}
