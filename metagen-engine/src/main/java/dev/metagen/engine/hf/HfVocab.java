package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufValueType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The {@code tokenizer.ggml.*} vocabulary arrays and {@code tokenizer.chat_template} that llama.cpp's
 * {@code convert_hf_to_gguf.py} writes for a Hugging Face directory's {@code tokenizer.json},
 * {@code tokenizer_config.json} and {@code config.json}: SentencePiece-style BPE with byte fallback as
 * {@code llama} ({@code LlamaHfVocab}: every score -1000, byte pieces BYTE, special tokens CONTROL), byte-level BPE
 * as {@code gpt2} ({@code get_vocab_base} with its merges), special ids and add-BOS/EOS flags as {@code SpecialVocab}
 * reads them. A loaded directory and its converted GGUF build their tokenizer from these same arrays.
 */
public final class HfVocab {
    static final int NORMAL = 1;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-Fa-f]{2}>");
    private static final List<String> SPECIAL_TYPES = List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");
    /** The GGUF key of each special token type ({@code cls} has none: llama.cpp's writer skips it). */
    private static final Map<String, String> ID_KEYS = Map.of("bos", "tokenizer.ggml.bos_token_id",
            "eos", "tokenizer.ggml.eos_token_id", "unk", "tokenizer.ggml.unknown_token_id",
            "sep", "tokenizer.ggml.seperator_token_id", "pad", "tokenizer.ggml.padding_token_id",
            "mask", "tokenizer.ggml.mask_token_id", "eot", "tokenizer.ggml.eot_token_id",
            "eom", "tokenizer.ggml.eom_token_id");

    /**
     * The byte-level BPE split expressions of tokenizer.json pre-tokenizers and the {@code tokenizer.ggml.pre} name
     * llama.cpp gives them. llama.cpp's converter names the pre-tokenizer by hashing the ids the real tokenizer gives
     * for a probe text; without that tokenizer the split expression identifies it.
     */
    private static final Map<String, String> PRE_BY_REGEX = Map.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "llama-bpe",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "qwen2");

    private HfVocab() {}

    /**
     * The tokenizer metadata for directory {@code dir}.
     *
     * @param config  config.json (special ids the tokenizer files leave unset, {@code vocab_size})
     * @param gpt2Only the architecture's converter never tries the SentencePiece-style path (qwen2, qwen3)
     */
    public static Map<String, GgufValue> read(Path dir, JsonNode config, boolean gpt2Only) {
        Path tokFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokFile)) {
            throw new MetagenException(dir + ": no tokenizer.json (the tokenizer of a model directory is read from it)");
        }
        JsonNode tok = HfJson.read(tokFile);
        JsonNode tcfg = HfJson.readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode model = tok.path("model");
        if (!"BPE".equals(model.path("type").asText())) {
            throw HfJson.bad(tokFile, "model type '" + model.path("type").asText() + "' is not supported (BPE is)");
        }
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) {
            throw HfJson.bad(tokFile, "model.vocab is missing or empty");
        }
        // the ids tokenizers' get_vocab() gives: the model's vocabulary plus the added tokens
        Map<Integer, String> byId = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = tokenId(tokFile, "model.vocab[" + e.getKey() + "]", e.getValue());
            String before = byId.put(id, e.getKey());
            if (before != null) {
                throw HfJson.bad(tokFile, "model.vocab gives id " + id + " to both '" + before + "' and '" + e.getKey() + "'");
            }
        }
        int baseSize = vocabNode.size();
        List<AddedToken> added = new ArrayList<>();
        JsonNode addedNode = tok.path("added_tokens");
        for (JsonNode a : addedNode) {
            if (!a.path("content").isTextual()) {
                throw HfJson.bad(tokFile, "an entry of added_tokens has no content");
            }
            AddedToken t = new AddedToken(tokenId(tokFile, "added_tokens id", a.path("id")), a.get("content").asText(),
                    a.path("special").asBoolean(false), a.path("normalized").asBoolean(true));
            added.add(t);
            byId.put(t.id, t.content);
        }
        boolean byteFallback = model.path("byte_fallback").asBoolean(false);
        boolean sequenceDecoder = "Sequence".equals(tok.path("decoder").path("type").asText());
        boolean llama3 = model.path("ignore_merges").asBoolean(false) && !model.path("byte_fallback").asBoolean(true);
        Map<String, GgufValue> out = new LinkedHashMap<>();
        Special special = new Special(tcfg);
        if (!gpt2Only && !llama3 && byteFallback && sequenceDecoder) {
            llamaHf(tokFile, byId, baseSize, added, tcfg, out);
            special.load(tok, added, config, out.get("tokenizer.ggml.tokens").arrayLength());
        } else {
            gpt2(tokFile, tok, byId, added, config, out);
            special.load(tok, added, config, -1);
        }
        special.write(out);
        if (tcfg != null && tcfg.path("add_prefix_space").isBoolean() && !gpt2Only) {
            out.put("tokenizer.ggml.add_space_prefix", GgufValue.ofBool(tcfg.get("add_prefix_space").asBoolean()));
        }
        String template = chatTemplate(dir, tcfg);
        if (template != null) {
            out.put("tokenizer.chat_template", GgufValue.of(template));
        }
        return out;
    }

    private record AddedToken(int id, String content, boolean special, boolean normalized) {}

    /** {@code LlamaHfVocab}: tokens in id order, then added tokens beyond the model's vocabulary. */
    private static void llamaHf(Path file, Map<Integer, String> byId, int baseSize, List<AddedToken> added,
                                JsonNode tcfg, Map<String, GgufValue> out) {
        Set<Integer> specialIds = new HashSet<>();
        Map<String, Integer> textToId = new HashMap<>();
        byId.forEach((id, text) -> textToId.putIfAbsent(text, id));
        for (String text : specialTexts(tcfg)) {
            Integer id = textToId.get(text);
            if (id != null) {
                specialIds.add(id);
            }
        }
        TreeMap<Integer, String> beyond = new TreeMap<>();
        for (AddedToken a : added) {
            if (a.id >= baseSize) {
                beyond.put(a.id, a.content);
            }
        }
        int n = baseSize + beyond.size();
        String[] tokens = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        int k = 0;
        for (int id = 0; id < baseSize; id++) {
            if (beyond.containsKey(id)) {
                continue;
            }
            String text = byId.get(id);
            if (text == null) {
                throw HfJson.bad(file, "no token has id " + id + " (ids of model.vocab must be 0 to " + (baseSize - 1) + ")");
            }
            tokens[k] = text;
            scores[k] = -1000f;
            types[k] = BYTE_PIECE.matcher(text).matches() ? BYTE : specialIds.contains(id) ? CONTROL : NORMAL;
            k++;
        }
        for (Map.Entry<Integer, String> e : beyond.entrySet()) {
            tokens[k] = e.getValue();
            scores[k] = -1000f;
            types[k] = specialIds.contains(e.getKey()) ? CONTROL : USER_DEFINED;
            k++;
        }
        if (k != n) {
            tokens = Arrays.copyOf(tokens, k);
            scores = Arrays.copyOf(scores, k);
            types = Arrays.copyOf(types, k);
        }
        out.put("tokenizer.ggml.model", GgufValue.of("llama"));
        out.put("tokenizer.ggml.pre", GgufValue.of("default"));
        out.put("tokenizer.ggml.tokens", GgufValue.ofArray(tokens));
        out.put("tokenizer.ggml.scores", GgufValue.ofArray(scores));
        out.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(types));
    }

    /** {@code get_vocab_base} and the merges: byte-level BPE, {@code config.json}'s vocab_size rows. */
    private static void gpt2(Path file, JsonNode tok, Map<Integer, String> byId, List<AddedToken> added,
                             JsonNode config, Map<String, GgufValue> out) {
        int maxId = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1);
        int vocabSize = config != null && config.path("vocab_size").canConvertToInt()
                ? config.get("vocab_size").asInt() : byId.size();
        if (maxId >= vocabSize) {
            throw HfJson.bad(file, "token id " + maxId + " is not below config.json's vocab_size " + vocabSize);
        }
        if (vocabSize > 4_000_000) {
            throw new MetagenException("config.json: vocab_size " + vocabSize + " is implausibly large");
        }
        Map<String, AddedToken> addedByText = new HashMap<>();
        for (AddedToken a : added) {
            addedByText.put(a.content, a);
        }
        String[] tokens = new String[vocabSize];
        int[] types = new int[vocabSize];
        for (int i = 0; i < vocabSize; i++) {
            String t = byId.get(i);
            if (t == null) {
                tokens[i] = "[PAD" + i + "]";
                types[i] = UNUSED;
                continue;
            }
            AddedToken a = addedByText.get(t);
            if (a != null) {
                if (a.special || looksSpecial(t)) {
                    types[i] = CONTROL;
                } else {
                    t = t.replace("\u2581", " ");
                    types[i] = USER_DEFINED;
                }
            } else {
                types[i] = NORMAL;
            }
            tokens[i] = t;
        }
        out.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
        out.put("tokenizer.ggml.pre", GgufValue.of(preName(file, tok)));
        out.put("tokenizer.ggml.tokens", GgufValue.ofArray(tokens));
        out.put("tokenizer.ggml.token_type", GgufValue.ofInt32Array(types));
        JsonNode merges = tok.path("model").path("merges");
        List<String> m = new ArrayList<>(merges.size());
        for (JsonNode e : merges) {
            if (e.isTextual()) {
                m.add(e.asText());
            } else if (e.isArray() && e.size() == 2 && e.get(0).isTextual() && e.get(1).isTextual()) {
                // transformers 4.45+ pairs: spaces inside a part are written as U+0120, as the converter does
                m.add(e.get(0).asText().replace(' ', '\u0120') + " " + e.get(1).asText().replace(' ', '\u0120'));
            } else {
                throw HfJson.bad(file, "model.merges has an entry that is neither a string nor a pair of strings");
            }
        }
        if (m.isEmpty()) {
            throw HfJson.bad(file, "byte-level BPE tokenizer without model.merges");
        }
        out.put("tokenizer.ggml.merges", GgufValue.ofArray(m.toArray(String[]::new)));
    }

    /** The converter's {@code does_token_look_special}. */
    private static boolean looksSpecial(String t) {
        return t.equals("<pad>") || t.equals("<mask>") || t.equals("<2mass>") || t.equals("[@BOS@]")
                || (t.startsWith("<|") && t.endsWith("|>")) || (t.startsWith("<\uFF5C") && t.endsWith("\uFF5C>"))
                || (t.startsWith("<unused") && t.endsWith(">"));
    }

    private static String preName(Path file, JsonNode tok) {
        List<String> regexes = new ArrayList<>();
        boolean byteLevel = collectPre(tok.path("pre_tokenizer"), regexes);
        if (regexes.isEmpty() && byteLevel) {
            return "gpt-2";
        }
        if (regexes.size() == 1 && PRE_BY_REGEX.containsKey(regexes.getFirst())) {
            return PRE_BY_REGEX.get(regexes.getFirst());
        }
        throw HfJson.bad(file, "the byte-level BPE pre-tokenizer is not recognised (known: the GPT-2, Llama 3 and"
                + " Qwen2 split expressions)");
    }

    /** Adds the Split regexes under {@code n} to {@code out}; returns whether a ByteLevel step splits with GPT-2's. */
    private static boolean collectPre(JsonNode n, List<String> out) {
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                boolean b = false;
                for (JsonNode c : n.path("pretokenizers")) {
                    b |= collectPre(c, out);
                }
                return b;
            }
            case "Split" -> {
                JsonNode p = n.path("pattern");
                out.add(p.has("Regex") ? p.get("Regex").asText() : p.path("String").asText());
                return false;
            }
            case "ByteLevel" -> {
                return n.path("use_regex").asBoolean(true);
            }
            default -> {
                return false;
            }
        }
    }

    /** The texts of tokenizer_config.json's special tokens (transformers' {@code all_special_tokens}). */
    private static List<String> specialTexts(JsonNode tcfg) {
        List<String> out = new ArrayList<>();
        if (tcfg == null) {
            return out;
        }
        for (String typ : SPECIAL_TYPES) {
            String t = text(tcfg.get(typ + "_token"));
            if (t != null) {
                out.add(t);
            }
        }
        for (JsonNode a : tcfg.path("additional_special_tokens")) {
            String t = text(a);
            if (t != null) {
                out.add(t);
            }
        }
        return out;
    }

    private static String text(JsonNode entry) {
        if (entry == null) {
            return null;
        }
        if (entry.isTextual()) {
            return entry.asText();
        }
        if (entry.isObject() && entry.path("content").isTextual()) {
            return entry.get("content").asText();
        }
        return null;
    }

    private static int tokenId(Path file, String what, JsonNode n) {
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() < 0) {
            throw HfJson.bad(file, what + " is not a token id: " + n);
        }
        return n.asInt();
    }

    /** The chat template: tokenizer_config.json's, else chat_template.jinja or chat_template.json. */
    private static String chatTemplate(Path dir, JsonNode tcfg) {
        JsonNode t = tcfg == null ? null : tcfg.get("chat_template");
        if (t != null && t.isTextual()) {
            return t.asText();
        }
        if (t != null && t.isArray()) {
            // named templates: the default one (llama.cpp writes the others under tokenizer.chat_template.NAME)
            for (JsonNode e : t) {
                if ("default".equals(e.path("name").asText()) && e.path("template").isTextual()) {
                    return e.get("template").asText();
                }
            }
            return null;
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                if (Files.size(jinja) > HfJson.MAX_BYTES) {
                    throw HfJson.bad(jinja, "is too large");
                }
                return Files.readString(jinja);
            } catch (IOException e) {
                throw new MetagenException("cannot read " + jinja + ": " + MetagenException.describe(e), e);
            }
        }
        JsonNode j = HfJson.readOptional(dir.resolve("chat_template.json"));
        if (j != null && j.path("chat_template").isTextual()) {
            return j.get("chat_template").asText();
        }
        return null;
    }

    /** gguf-py's {@code SpecialVocab}: special ids and the add-BOS/EOS/SEP flags. */
    private static final class Special {
        final Map<String, Integer> ids = new LinkedHashMap<>();
        final Map<String, Boolean> add = new LinkedHashMap<>();
        final List<String> types = new ArrayList<>(SPECIAL_TYPES);
        final Map<String, String> texts = new HashMap<>();
        final JsonNode tcfg;

        Special(JsonNode tcfg) {
            this.tcfg = tcfg;
            if (tcfg != null) {
                for (String typ : SPECIAL_TYPES) {
                    String t = text(tcfg.get(typ + "_token"));
                    if (t != null) {
                        texts.put(typ, t);
                    }
                }
            }
        }

        void load(JsonNode tok, List<AddedToken> added, JsonNode config, int nVocab) {
            if (!texts.containsKey("bos") && texts.containsKey("cls") && tcfg != null) {
                texts.put("bos", texts.get("cls"));
            }
            if (!texts.containsKey("eos") && texts.containsKey("sep") && tcfg != null) {
                texts.put("eos", texts.get("sep"));
            }
            JsonNode pp = tok.path("post_processor");
            List<JsonNode> processors = new ArrayList<>();
            if (pp.has("processors")) {
                pp.get("processors").forEach(processors::add);
            } else if (pp.isObject()) {
                processors.add(pp);
            }
            for (JsonNode p : processors) {
                String type = p.path("type").asText();
                if (type.equals("RobertaProcessing")) {
                    add.put("bos", true);
                    add.put("eos", true);
                    add.put("sep", true);
                } else if (type.equals("TemplateProcessing")) {
                    template(p);
                }
            }
            if (tcfg != null) {
                for (String typ : types) {
                    JsonNode a = tcfg.get("add_" + typ + "_token");
                    if (a != null && a.isBoolean()) {
                        add.put(typ, a.asBoolean());
                    }
                    String t = texts.get(typ);
                    if (t == null) {
                        continue;
                    }
                    for (AddedToken at : added) {
                        if (at.content.equals(t)) {
                            set(typ, at.id, nVocab);
                            break;
                        }
                    }
                }
            }
            if (config != null) {
                for (String typ : types) {
                    JsonNode v = config.get(typ + "_token_id");
                    if ((v == null || v.isNull()) && config.has("text_config")) {
                        v = config.get("text_config").get(typ + "_token_id");
                    }
                    if (v != null && v.isIntegralNumber()) {
                        if (v.asLong() < 0) {
                            throw new MetagenException("config.json: " + typ + "_token_id " + v.asLong() + " is negative");
                        }
                        set(typ, (int) Math.min(Integer.MAX_VALUE, v.asLong()), nVocab);
                    }
                }
            }
        }

        /** The converter's crude reading of TemplateProcessing (leading BOS, trailing EOS). */
        private void template(JsonNode p) {
            JsonNode single = p.path("single");
            if (single.size() <= 1) {
                return;
            }
            String first = single.get(0).path("SpecialToken").path("id").asText(null);
            if (first != null && !first.isEmpty()) {
                if (tcfg == null) {
                    texts.put("bos", first);
                } else if (!first.equals(texts.get("bos")) && !first.equals(texts.get("cls"))) {
                    texts.putIfAbsent("bos", first);
                    texts.putIfAbsent("cls", first);
                }
                add.put("bos", first.equals(texts.get("bos")) || first.equals(texts.get("cls")));
            }
            String last = single.get(single.size() - 1).path("SpecialToken").path("id").asText(null);
            if (last != null && !last.isEmpty()) {
                if (tcfg == null) {
                    texts.put("eos", last);
                } else if (!last.equals(texts.get("eos"))) {
                    String old = texts.get("eos");
                    if (!types.contains("eot")) {
                        types.add("eot");
                        texts.put("eot", old);
                    } else if (!types.contains("eom")) {
                        types.add("eom");
                        texts.put("eom", old);
                    }
                    texts.put("eos", last);
                }
                add.put("eos", last.equals(texts.get("eos")));
            }
        }

        private void set(String typ, int id, int nVocab) {
            if (nVocab >= 0 && id >= nVocab) {
                return; // the converter skips an out-of-range id with a warning
            }
            ids.putIfAbsent(typ, id);
        }

        void write(Map<String, GgufValue> out) {
            ids.forEach((typ, id) -> {
                String key = ID_KEYS.get(typ);
                if (key != null) {
                    out.put(key, new GgufValue(GgufValueType.UINT32, null, id));
                }
            });
            add.forEach((typ, v) -> {
                if (typ.equals("bos") || typ.equals("eos") || typ.equals("sep")) {
                    out.put("tokenizer.ggml.add_" + typ + "_token", GgufValue.ofBool(v));
                }
            });
        }
    }
}
