package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;

/** Builds the tokenizer that a GGUF file's {@code tokenizer.ggml.*} metadata describes. */
public final class GgufTokenizers {
    private GgufTokenizers() {}

    public static Tokenizer fromGguf(GgufFile file) {
        throw new MetagenException("tokenizers are not built yet");
    }
}
