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
 */
public final class GgufTokenizers {
    private GgufTokenizers() {}

    public static Tokenizer fromGguf(GgufFile file) {
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

        float[] scores = scores(file, src, n);
        int[] types = file.getIntArray("tokenizer.ggml.token_type");
        if (types != null && types.length < n) {
            throw new MetagenException(src + ": tokenizer.ggml.token_type has " + types.length + " entries for " + n + " tokens");
        }
        Map<String, Long> ids = new HashMap<>();
        for (String k : new String[]{"bos", "eos", "eot", "eom", "unknown", "seperator", "padding", "mask",
                "fim_pre", "fim_suf", "fim_mid", "fim_pad", "fim_rep", "fim_sep", "prefix", "suffix", "middle"}) {
            GgufValue v = file.get("tokenizer.ggml." + k + "_token_id");
            if (v != null) {
                Long l = v.asLong();
                if (l == null || v.type() == GgufValueType.ARRAY) {
                    throw new MetagenException(src + ": tokenizer.ggml." + k + "_token_id is not an integer");
                }
                ids.put(k, l);
            }
        }
        Boolean addBos = optionalBool(file, "tokenizer.ggml.add_bos_token");
        Boolean addEos = optionalBool(file, "tokenizer.ggml.add_eos_token");
        Boolean addSpacePrefix = optionalBool(file, "tokenizer.ggml.add_space_prefix");
        String name = file.getString("general.name", null);

        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(new Vocabulary(new Vocabulary.Metadata(src, tokens, scores, types,
                    name, 1, 2, 0, -1, ids, addBos, true, addEos, addSpacePrefix, true)));
            case "gpt2" -> {
                PreTokenizer.Spec spec = PreTokenizer.spec(pre);
                if (spec == null) {
                    throw new MetagenException(src + ": unsupported pre-tokenizer tokenizer.ggml.pre = '" + pre + "'");
                }
                String[] merges = file.getStringArray("tokenizer.ggml.merges");
                if (merges == null) {
                    throw new MetagenException(src + ": byte-level BPE vocabulary without tokenizer.ggml.merges");
                }
                Vocabulary vocab = new Vocabulary(new Vocabulary.Metadata(src, tokens, scores, types, name, 11, 11, -1, -1,
                        ids, addBos, spec.addBosDefault(), addEos, addSpacePrefix, false));
                yield new ByteLevelBpeTokenizer(vocab, merges, new PreTokenizer(spec.regexes()), spec.ignoreMerges());
            }
            default -> throw new MetagenException(src + ": unsupported tokenizer model tokenizer.ggml.model = '" + model
                    + "' (supported: llama, gpt2)");
        };
    }

    private static float[] scores(GgufFile file, String src, int n) {
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
        if (scores.length < n) {
            throw new MetagenException(src + ": tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
        }
        return scores;
    }

    private static Boolean optionalBool(GgufFile file, String key) {
        return file.has(key) ? file.getBool(key, false) : null;
    }
}
