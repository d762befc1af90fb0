package dev.metagen.llamacpp;

import dev.metagen.core.MetagenException;
import dev.metagen.core.SpecialTokens;
import dev.metagen.core.Tokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/** A {@link Tokenizer} that delegates to libllama's vocabulary (llama_tokenize, llama_token_to_piece, ...). */
final class LlamaCppTokenizer implements Tokenizer {
    private final LlamaLibrary lib;
    private final MemorySegment model;
    private final MemorySegment vocab;
    private final int vocabSize;
    private final SpecialTokens special;
    /** Token pieces, filled on first use: the streaming decoder asks for them once per generated token. */
    private final byte[][] pieces;

    LlamaCppTokenizer(LlamaLibrary lib, MemorySegment model, MemorySegment vocab) throws Throwable {
        this.lib = lib;
        this.model = model;
        this.vocab = vocab;
        this.vocabSize = (int) lib.vocabNTokens.invokeExact(vocab);
        this.pieces = new byte[vocabSize][];
        Set<Integer> eog = new HashSet<>();
        for (int id = 0; id < vocabSize; id++) {
            if ((boolean) lib.vocabIsEog.invokeExact(vocab, id)) {
                eog.add(id);
            }
        }
        String unk = meta("tokenizer.ggml.unknown_token_id");
        this.special = new SpecialTokens(
                (int) lib.vocabBos.invokeExact(vocab),
                (int) lib.vocabEos.invokeExact(vocab),
                unk == null ? -1 : Integer.parseInt(unk.strip()),
                (int) lib.vocabPad.invokeExact(vocab),
                (boolean) lib.vocabGetAddBos.invokeExact(vocab),
                (boolean) lib.vocabGetAddEos.invokeExact(vocab),
                eog);
    }

    /** A GGUF metadata value as a string, or null when the key is absent (arrays are not supported). */
    String meta(String key) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocateFrom(key);
            MemorySegment buf = a.allocate(256);
            int n = (int) lib.modelMetaValStr.invokeExact(model, k, buf, 256L);
            if (n < 0) {
                return null;
            }
            if (n >= 256) {
                buf = a.allocate(n + 1L);
                n = (int) lib.modelMetaValStr.invokeExact(model, k, buf, n + 1L);
            }
            return buf.getString(0);
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: reading metadata " + key + " failed: " + t);
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocate(utf8.length + 1L);
            MemorySegment.copy(utf8, 0, in, JAVA_BYTE, 0, utf8.length);
            int capacity = utf8.length + 4;
            while (true) {
                MemorySegment out = a.allocate(JAVA_INT, capacity);
                int n = (int) lib.tokenize.invokeExact(vocab, in, utf8.length, out, capacity, addSpecial, parseSpecial);
                if (n >= 0) {
                    return out.asSlice(0, 4L * n).toArray(JAVA_INT);
                }
                if (n == Integer.MIN_VALUE) {
                    throw new MetagenException("llama.cpp: the text is too long to tokenize (over 2^31 tokens)");
                }
                capacity = -n;
            }
        } catch (MetagenException e) {
            throw e;
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_tokenize failed: " + t);
        }
    }

    @Override
    public String decode(int[] ids) {
        for (int id : ids) {
            checkId(id);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(JAVA_INT, ids);
            int capacity = ids.length * 8 + 16;
            while (true) {
                MemorySegment out = a.allocate(capacity);
                int n = (int) lib.detokenize.invokeExact(vocab, in, ids.length, out, capacity, false, false);
                if (n >= 0) {
                    return new String(out.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
                }
                capacity = -n;
            }
        } catch (MetagenException e) {
            throw e;
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_detokenize failed: " + t);
        }
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        byte[] p = pieces[id];
        if (p == null) {
            p = piece(id);
            pieces[id] = p;
        }
        return p.clone();
    }

    private byte[] piece(int id) {
        try (Arena a = Arena.ofConfined()) {
            int capacity = 64;
            while (true) {
                MemorySegment buf = a.allocate(capacity);
                int n = (int) lib.tokenToPiece.invokeExact(vocab, id, buf, capacity, 0, false);
                if (n >= 0) {
                    return buf.asSlice(0, n).toArray(JAVA_BYTE);
                }
                capacity = -n;
            }
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_token_to_piece failed: " + t);
        }
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        try {
            String s = LlamaLibrary.string((MemorySegment) lib.vocabGetText.invokeExact(vocab, id));
            return s == null ? "" : s;
        } catch (Throwable t) {
            throw new MetagenException("llama.cpp: llama_vocab_get_text failed: " + t);
        }
    }

    @Override
    public SpecialTokens special() {
        return special;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocabSize) {
            throw new MetagenException("token id " + id + " is outside the vocabulary [0, " + vocabSize + ")");
        }
    }
}
