package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufValueType;

import java.util.HashMap;
import java.util.Map;

/**
 * Builds the tokenizer that a GGUF file's {@code tokenizer.ggml.*} metadata describes, with llama.cpp's defaults
 * ({@code llama_vocab::impl::load}): "llama" is SentencePiece-style BPE, "gpt2" is byte-level BPE.
 *
 * <p>The metadata is checked first ({@link #validate}), so a vocabulary that contradicts itself or its tokenizer
 * type is a one-line error naming the file and the key rather than a tokenizer that produces garbage.
 */
public final class GgufTokenizers {
    /** The {@code tokenizer.ggml.<name>_token_id} keys (llama.cpp's {@code llama-arch.cpp} spelling, "seperator" included). */
    private static final String[] SPECIAL_ID_KEYS = {"bos", "eos", "eot", "eom", "unknown", "seperator", "padding",
            "cls", "mask", "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep", "prefix", "suffix", "middle"};
    /** GGUF token type of byte-fallback tokens. */
    private static final int TYPE_BYTE = 6;
    private static final int TYPE_UNKNOWN = 2;
    private static final int TYPE_CONTROL = 3;
    private static final int TYPE_USER_DEFINED = 4;
    /** The byte-level BPE alphabet's spelling of the space byte (GPT-2's bytes_to_unicode maps 0x20 to U+0120). */
    private static final String BYTE_LEVEL_SPACE = "\u0120";
    private static final char WORD_MARK = '\u2581';

    private GgufTokenizers() {}

    public static Tokenizer fromGguf(GgufFile file) {
        Metadata md = read(file);
        String src = file.path().toString();
        Boolean addBos = optionalBool(file, "tokenizer.ggml.add_bos_token");
        Boolean addEos = optionalBool(file, "tokenizer.ggml.add_eos_token");
        Boolean addSpacePrefix = optionalBool(file, "tokenizer.ggml.add_space_prefix");
        String name = file.getString("general.name", null);

        return switch (md.model()) {
            case "llama" -> new SentencePieceTokenizer(new Vocabulary(new Vocabulary.Metadata(src, md.tokens(),
                    md.scores(), md.types(), name, 1, 2, 0, -1, md.ids(), addBos, true, addEos, addSpacePrefix, true)));
            case "gpt2" -> {
                PreTokenizer.Spec spec = PreTokenizer.spec(md.pre());
                if (spec == null) {
                    throw new MetagenException(src + ": unsupported pre-tokenizer tokenizer.ggml.pre = '" + md.pre() + "'");
                }
                Vocabulary vocab = new Vocabulary(new Vocabulary.Metadata(src, md.tokens(), md.scores(), md.types(), name,
                        11, 11, -1, -1, md.ids(), addBos, spec.addBosDefault(), addEos, addSpacePrefix, false));
                yield new ByteLevelBpeTokenizer(vocab, md.merges(), new PreTokenizer(spec.regexes()), spec.ignoreMerges());
            }
            default -> throw new MetagenException(src + ": unsupported tokenizer model tokenizer.ggml.model = '"
                    + md.model() + "' (supported: llama, gpt2)");
        };
    }

    /**
     * Checks the tokenizer metadata without building the tokenizer and returns the number of tokens, or -1 when the
     * file has no {@code tokenizer.ggml.tokens}. Refused, each with a one-line message naming the file and the key:
     * <ul>
     *   <li>what llama.cpp refuses: a missing {@code tokenizer.ggml.model}, {@code scores} or {@code token_type}
     *       shorter than the token list, two tokens with the same text, a {@code gpt2} vocabulary without merges;</li>
     *   <li>what the GGUF specification forbids: {@code scores} or {@code token_type} of another length than the
     *       token list;</li>
     *   <li>special token ids ({@code tokenizer.ggml.*_token_id}) outside {@code [0, n_tokens)}, except
     *       4294967295 / -1, which converters write for "none" (llama.cpp warns and falls back to a default id, which
     *       for a byte-level vocabulary is an arbitrary token);</li>
     *   <li>a vocabulary that does not fit its tokenizer type: byte tokens whose text is not {@code <0xHH>}; for
     *       {@code llama} (SentencePiece) no scores, some but not all 256 byte-fallback tokens, or pieces none of
     *       which holds the word mark {@code ▁}; for {@code gpt2} (byte-level BPE) no token for the space byte
     *       {@code Ġ}, or a merge that is not two tokens separated by a space or whose parts or result are not
     *       tokens (Hugging Face tokenizers refuses such merges too).</li>
     * </ul>
     * An unsupported tokenizer model or pre-tokenizer is reported by {@link #fromGguf}, so a model file can still be
     * run from token ids.
     */
    public static int validate(GgufFile file) {
        if (file.getStringArray("tokenizer.ggml.tokens") == null) {
            return -1;
        }
        return read(file).tokens().length;
    }

    /** The checked tokenizer metadata; empty token texts are kept as they are (the vocabulary renames them). */
    private record Metadata(String model, String pre, String[] tokens, float[] scores, int[] types,
                            Map<String, Long> ids, String[] merges) {}

    private static Metadata read(GgufFile file) {
        String src = file.path().toString();
        String[] tokens = file.getStringArray("tokenizer.ggml.tokens");
        if (tokens == null) {
            throw new MetagenException(src + ": has no tokenizer (tokenizer.ggml.tokens missing)");
        }
        String model = file.getString("tokenizer.ggml.model", null);
        if (model == null) {
            throw new MetagenException(src + ": has tokens but no tokenizer.ggml.model");
        }
        String pre = file.getString("tokenizer.ggml.pre", null);
        int n = tokens.length;
        if (n == 0) {
            throw file.invalid("tokenizer.ggml.tokens is empty");
        }
        float[] scores = scores(file, n);
        int[] types = file.getIntArray("tokenizer.ggml.token_type");
        if (types != null && types.length != n) {
            throw file.invalid("tokenizer.ggml.token_type has " + types.length + " entries for " + n
                    + " tokens (tokenizer.ggml.tokens): they must be the same length");
        }
        Map<String, Long> ids = specialIds(file, n);
        Map<String, Integer> byText = textsToIds(file, tokens, types);
        String[] merges = null;
        switch (model) {
            case "llama" -> checkSentencePiece(file, tokens, scores, types, byText);
            case "gpt2" -> {
                merges = file.getStringArray("tokenizer.ggml.merges");
                if (merges == null) {
                    throw new MetagenException(src + ": byte-level BPE vocabulary without tokenizer.ggml.merges");
                }
                checkByteLevelBpe(file, merges, byText);
            }
            default -> { } // reported when the tokenizer is built
        }
        return new Metadata(model, pre, tokens, scores, types, ids, merges);
    }

    private static float[] scores(GgufFile file, int n) {
        GgufValue v = file.get("tokenizer.ggml.scores");
        if (v == null) {
            return null;
        }
        float[] scores;
        if (v.type() == GgufValueType.ARRAY && v.elementType() == GgufValueType.INT32) {
            int[] s = file.getIntArray("tokenizer.ggml.scores");
            scores = new float[s.length];
            for (int i = 0; i < s.length; i++) {
                scores[i] = s[i];
            }
        } else {
            scores = file.getFloatArray("tokenizer.ggml.scores");
        }
        if (scores.length != n) {
            throw file.invalid("tokenizer.ggml.scores has " + scores.length + " entries for " + n
                    + " tokens (tokenizer.ggml.tokens): they must be the same length");
        }
        return scores;
    }

    /** The special ids present in the metadata; each must name a token or be the "none" value. */
    private static Map<String, Long> specialIds(GgufFile file, int n) {
        Map<String, Long> ids = new HashMap<>();
        for (String k : SPECIAL_ID_KEYS) {
            String key = "tokenizer.ggml." + k + "_token_id";
            GgufValue v = file.get(key);
            if (v == null) {
                continue;
            }
            Long l = v.asLong();
            if (l == null || v.type() == GgufValueType.ARRAY) {
                throw new MetagenException(file.path() + ": " + key + " is not an integer");
            }
            boolean none = l == -1 || l == 0xFFFFFFFFL;
            if (!none && (l < 0 || l >= n)) {
                throw file.invalid(key + " = " + l + " is not a token id: the vocabulary has " + n
                        + " tokens (ids 0 to " + (n - 1) + ")");
            }
            ids.put(k, l);
        }
        return ids;
    }

    /**
     * Token texts to ids, refusing two tokens with the same text (llama.cpp asserts they are distinct) and byte
     * tokens that do not spell a byte. Empty texts get llama.cpp's stand-in name {@code [EMPTY_i]}.
     */
    private static Map<String, Integer> textsToIds(GgufFile file, String[] tokens, int[] types) {
        Map<String, Integer> byText = HashMap.newHashMap(tokens.length);
        for (int i = 0; i < tokens.length; i++) {
            String t = tokens[i] == null || tokens[i].isEmpty() ? "[EMPTY_" + i + "]" : tokens[i];
            Integer before = byText.putIfAbsent(t, i);
            if (before != null) {
                throw file.invalid("tokenizer.ggml.tokens has the token '" + t + "' twice, at ids " + before
                        + " and " + i);
            }
            if (types != null && types[i] == TYPE_BYTE && byteOf(t) < 0) {
                throw file.invalid("tokenizer.ggml.tokens[" + i + "] = '" + t
                        + "' has token type BYTE (tokenizer.ggml.token_type 6) but is not of the form <0xHH>");
            }
        }
        return byText;
    }

    /** The byte a {@code <0xHH>} token stands for, or -1. */
    static int byteOf(String text) {
        if (text.length() != 6 || !text.startsWith("<0x") || text.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(text.charAt(3), 16);
        int lo = Character.digit(text.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    private static void checkSentencePiece(GgufFile file, String[] tokens, float[] scores, int[] types,
                                           Map<String, Integer> byText) {
        if (scores == null) {
            throw file.invalid("tokenizer.ggml.model is llama (SentencePiece) but tokenizer.ggml.scores is missing:"
                    + " pieces are merged by score");
        }
        int present = 0;
        int firstMissing = -1;
        for (int b = 0; b < 256; b++) {
            if (byText.containsKey(String.format("<0x%02X>", b))) {
                present++;
            } else if (firstMissing < 0) {
                firstMissing = b;
            }
        }
        if (present > 0 && present < 256) {
            throw file.invalid(String.format("tokenizer.ggml.tokens has %d of the 256 SentencePiece byte-fallback"
                    + " tokens; <0x%02X> is missing", present, firstMissing));
        }
        // SentencePiece spells spaces as ▁, so its word pieces carry the mark; a vocabulary of other pieces
        // (a byte-level BPE one, say) would never match a space
        boolean pieces = false;
        for (int i = 0; i < tokens.length; i++) {
            String t = tokens[i];
            if (t == null || t.isEmpty() || byteOf(t) >= 0) {
                continue;
            }
            int type = types == null ? 1 : types[i];
            if (type == TYPE_UNKNOWN || type == TYPE_CONTROL || type == TYPE_USER_DEFINED) {
                continue;
            }
            if (t.indexOf(WORD_MARK) >= 0) {
                return;
            }
            pieces = true;
        }
        if (pieces) {
            throw file.invalid("tokenizer.ggml.model is llama (SentencePiece) but no token holds the word mark"
                    + " \u2581 (U+2581): the vocabulary does not fit a SentencePiece tokenizer");
        }
    }

    private static void checkByteLevelBpe(GgufFile file, String[] merges, Map<String, Integer> byText) {
        if (!byText.containsKey(BYTE_LEVEL_SPACE)) {
            throw file.invalid("tokenizer.ggml.model is gpt2 (byte-level BPE) but no token is the space byte"
                    + " \u0120 (U+0120): the vocabulary does not fit a byte-level BPE tokenizer");
        }
        for (int i = 0; i < merges.length; i++) {
            String m = merges[i];
            // split at the first space after the first character, as llama.cpp does
            int sp = m.indexOf(' ', 1);
            if (sp < 0 || sp == m.length() - 1) {
                throw file.invalid("tokenizer.ggml.merges[" + i + "] = '" + m
                        + "' is not two tokens separated by a space");
            }
            String left = m.substring(0, sp);
            String right = m.substring(sp + 1);
            String[] parts = {left, right, left + right};
            for (int k = 0; k < parts.length; k++) {
                if (!byText.containsKey(parts[k])) {
                    throw file.invalid("tokenizer.ggml.merges[" + i + "] = '" + m + "' " + (k == 2 ? "makes" : "names")
                            + " '" + parts[k] + "', which is not in tokenizer.ggml.tokens");
                }
            }
        }
    }

    private static Boolean optionalBool(GgufFile file, String key) {
        return file.has(key) ? file.getBool(key, false) : null;
    }
}
