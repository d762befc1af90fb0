package dev.metagen.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.MetagenException;
import dev.metagen.core.SpecialTokens;
import dev.metagen.core.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

/**
 * A Hugging Face {@code tokenizer.json} tokenizer (BPE model), matching the {@code tokenizers} library id for id:
 * added tokens are cut out of the raw text, then out of the normalized text, the rest is normalized, pre-tokenized
 * and BPE-encoded, and the post-processor adds special tokens on request.
 *
 * <p>{@code parseSpecial = false} leaves special added tokens as plain text (the library's
 * {@code encode_special_tokens}); non-special added tokens are always recognised. {@link #decode} runs the decoder
 * chain with special tokens skipped and without {@code clean_up_tokenization_spaces}, so it is lossless and equals
 * the concatenated {@link #tokenBytes} (less the one leading space that Strip/Metaspace decoders drop).
 */
public final class HfTokenizer implements Tokenizer {
    /** Vocabularies are JSON objects of 100k+ keys: interning them as field names would only cost time. */
    private static final ObjectMapper JSON = new ObjectMapper(com.fasterxml.jackson.core.JsonFactory.builder()
            .disable(com.fasterxml.jackson.core.JsonFactory.Feature.INTERN_FIELD_NAMES)
            .disable(com.fasterxml.jackson.core.JsonFactory.Feature.CANONICALIZE_FIELD_NAMES).build());
    /** Texts that end generation when they are special tokens (the texts llama.cpp recognises). */
    private static final Set<String> END_OF_GENERATION_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>",
            "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<|eom_id|>", "<EOT>", "</s>", "<eos>",
            "<｜end▁of▁sentence｜>", "<end_of_utterance>", "<|return|>", "<|call|>");

    private final String source;
    private final String[] texts;
    private final boolean[] special;
    private final HfBpe model;
    private final HfComponents.Normalizer normalizer;
    private final HfComponents.Splitter preTokenizer;
    private final HfComponents.PostProcessor postProcessor;
    private final List<HfComponents.DecoderStep> decoders;
    private final HfAddedTokens rawAdded;
    private final HfAddedTokens normalizedAdded;
    private final Map<String, Integer> addedIds;
    private final String[][] merges;
    private final byte[][] pieces;
    private final SpecialTokens specialTokens;

    private HfTokenizer(HfTokenizer base, SpecialTokens specialTokens) {
        this.source = base.source;
        this.texts = base.texts;
        this.special = base.special;
        this.model = base.model;
        this.normalizer = base.normalizer;
        this.preTokenizer = base.preTokenizer;
        this.postProcessor = base.postProcessor;
        this.decoders = base.decoders;
        this.rawAdded = base.rawAdded;
        this.normalizedAdded = base.normalizedAdded;
        this.addedIds = base.addedIds;
        this.merges = base.merges;
        this.pieces = base.pieces;
        this.specialTokens = specialTokens;
    }

    private HfTokenizer(String source, JsonNode root) {
        this.source = source;
        JsonNode m = root.path("model");
        String type = m.path("type").asText("BPE");
        if (!type.equals("BPE")) {
            throw new MetagenException(source + ": unsupported tokenizer model type '" + type + "' (supported: BPE)");
        }
        if (!m.path("dropout").isNull() && !m.path("dropout").isMissingNode() && m.path("dropout").asDouble() != 0) {
            throw new MetagenException(source + ": model.dropout is set: BPE dropout is a training-time option"
                    + " and is not supported");
        }
        JsonNode vocabNode = m.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) {
            throw new MetagenException(source + ": model.vocab is missing or empty");
        }
        Map<String, Integer> vocab = HashMap.newHashMap(vocabNode.size());
        int maxId = -1;
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0) {
                throw new MetagenException(source + ": model.vocab['" + e.getKey() + "'] is not a token id");
            }
            vocab.put(e.getKey(), id);
            maxId = Math.max(maxId, id);
        }
        List<HfAddedTokens.Added> added = new ArrayList<>();
        for (JsonNode a : root.path("added_tokens")) {
            boolean sp = a.path("special").asBoolean(false);
            HfAddedTokens.Added t = new HfAddedTokens.Added(a.path("id").asInt(-1), a.path("content").asText(""),
                    sp, a.path("single_word").asBoolean(false), a.path("lstrip").asBoolean(false),
                    a.path("rstrip").asBoolean(false), a.path("normalized").asBoolean(!sp));
            if (t.id() < 0 || t.content().isEmpty()) {
                throw new MetagenException(source + ": added_tokens has an entry without id or content");
            }
            added.add(t);
            maxId = Math.max(maxId, t.id());
        }
        texts = new String[maxId + 1];
        special = new boolean[maxId + 1];
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            texts[e.getValue()] = e.getKey();
        }
        addedIds = new HashMap<>();
        for (HfAddedTokens.Added t : added) {
            texts[t.id()] = t.content();
            special[t.id()] = t.special();
            addedIds.putIfAbsent(t.content(), t.id());
        }
        JsonNode mergesNode = m.path("merges");
        String[][] merges = new String[mergesNode.size()][];
        for (int i = 0; i < merges.length; i++) {
            JsonNode mm = mergesNode.get(i);
            if (mm.isArray() && mm.size() == 2) {
                merges[i] = new String[]{mm.get(0).asText(), mm.get(1).asText()};
            } else {
                String t = mm.asText();
                int sp = t.indexOf(' ');
                if (sp <= 0 || sp == t.length() - 1 || t.indexOf(' ', sp + 1) >= 0) {
                    throw new MetagenException(source + ": model.merges[" + i + "] = '" + t
                            + "' is not two tokens separated by a space");
                }
                merges[i] = new String[]{t.substring(0, sp), t.substring(sp + 1)};
            }
        }
        this.merges = merges;
        String unkToken = m.path("unk_token").isTextual() ? m.get("unk_token").asText() : null;
        this.model = new HfBpe(source, vocab, merges, unkToken, m.path("fuse_unk").asBoolean(false),
                m.path("byte_fallback").asBoolean(false), m.path("ignore_merges").asBoolean(false),
                m.path("continuing_subword_prefix").asText(null), m.path("end_of_word_suffix").asText(null));
        this.normalizer = HfComponents.normalizer(source, root.get("normalizer"));
        this.preTokenizer = HfComponents.preTokenizer(source, root.get("pre_tokenizer"));
        this.postProcessor = HfComponents.postProcessor(source, root.get("post_processor"));
        this.decoders = HfComponents.decoders(source, root.get("decoder"));
        for (int[] ids : new int[][]{postProcessor.prefix(), postProcessor.suffix()}) {
            for (int id : ids) {
                if (id < 0 || id >= texts.length || texts[id] == null) {
                    throw new MetagenException(source + ": post_processor adds token id " + id
                            + ", which is not in the vocabulary");
                }
            }
        }
        List<HfAddedTokens.Added> raw = new ArrayList<>();
        List<HfAddedTokens.Added> norm = new ArrayList<>();
        for (HfAddedTokens.Added t : added) {
            if (t.normalized() && normalizer != null) {
                norm.add(t.withContent(normalizer.normalize(t.content())));
            } else {
                raw.add(t);
            }
        }
        this.rawAdded = new HfAddedTokens(raw);
        this.normalizedAdded = new HfAddedTokens(norm);
        this.pieces = new byte[texts.length][];

        int unk = unkToken != null ? vocab.get(unkToken) : -1;
        int[] pre = postProcessor.prefix();
        int[] suf = postProcessor.suffix();
        this.specialTokens = specials(pre.length > 0 ? pre[0] : -1, suf.length > 0 ? suf[suf.length - 1] : -1,
                unk, -1, pre.length > 0, suf.length > 0);
    }

    /** Reads a {@code tokenizer.json} (or {@code tokenizer.json.gz}) file. */
    public static HfTokenizer read(Path file) {
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw) {
            return fromJson(file.toString(), JSON.readTree(in));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MetagenException(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MetagenException(file + ": cannot read: " + e.getMessage());
        }
    }

    /** Builds the tokenizer a parsed {@code tokenizer.json} describes; {@code source} names it in errors. */
    public static HfTokenizer fromJson(String source, JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new MetagenException(source + ": a tokenizer.json must be a JSON object");
        }
        return new HfTokenizer(source, root);
    }

    /**
     * The same tokenizer reporting these special ids (from {@code tokenizer_config.json}); encoding still adds what
     * the post-processor adds, which {@link SpecialTokens#addBos()}/{@link SpecialTokens#addEos()} keep reporting.
     */
    public HfTokenizer withSpecialIds(int bos, int eos, int pad) {
        SpecialTokens s = specialTokens;
        return new HfTokenizer(this, specials(bos, eos, s.unk(), pad, s.addBos(), s.addEos()));
    }

    private SpecialTokens specials(int bos, int eos, int unk, int pad, boolean addBos, boolean addEos) {
        Set<Integer> eog = new TreeSet<>();
        if (eos >= 0) {
            eog.add(eos);
        }
        for (int id = 0; id < texts.length; id++) {
            if (special[id] && END_OF_GENERATION_TEXTS.contains(texts[id])) {
                eog.add(id);
            }
        }
        return new SpecialTokens(bos, eos, unk, pad, addBos, addEos, eog);
    }

    /** The id of a token text (an added token's content or a model vocabulary entry), or -1. */
    public int id(String text) {
        Integer id = addedIds.get(text);
        if (id == null) {
            id = model.vocab.get(text);
        }
        return id == null ? -1 : id;
    }

    /**
     * The vocabulary as GGUF's {@code tokenizer.ggml.*} arrays spell it: token texts by id (holes as
     * {@code [PAD<id>]}), token types (1 normal, 2 unknown, 3 control for special added tokens, 4 user-defined for other added
     * tokens, 5 unused for holes, 6 byte for {@code <0xXX>} tokens under byte fallback) and merges as "left right".
     */
    public record GgufVocab(String[] tokens, int[] tokenTypes, String[] merges) {}

    /** This tokenizer's vocabulary in GGUF's terms (what a converter writes). */
    public GgufVocab ggufVocab() {
        String[] tokens = new String[texts.length];
        int[] types = new int[texts.length];
        for (int id = 0; id < texts.length; id++) {
            if (texts[id] == null) {
                tokens[id] = "[PAD" + id + "]";
                types[id] = 5;
            } else {
                tokens[id] = texts[id];
                types[id] = id == model.unk() ? 2 : special[id] ? 3 : addedIds.containsKey(texts[id]) && addedIds.get(texts[id]) == id ? 4
                        : model.byteFallback() && HfComponents.fallbackByte(texts[id]) >= 0 ? 6 : 1;
            }
        }
        String[] m = new String[merges.length];
        for (int i = 0; i < m.length; i++) {
            m[i] = merges[i][0] + " " + merges[i][1];
        }
        return new GgufVocab(tokens, types, m);
    }

    /** Empties the BPE word cache (for timing cold encodes). */
    void clearCache() {
        model.clearCache();
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        PreTokenizer.IntList out = new PreTokenizer.IntList();
        List<String> words = new ArrayList<>();
        boolean first = true;
        for (HfAddedTokens.Segment seg : rawAdded.split(text, parseSpecial)) {
            if (seg.token() >= 0) {
                out.add(seg.token());
                first = false;
                continue;
            }
            String normalized = normalizer == null ? seg.text() : normalizer.normalize(seg.text());
            for (HfAddedTokens.Segment s : normalizedAdded.split(normalized, parseSpecial)) {
                if (s.token() >= 0) {
                    out.add(s.token());
                } else if (!s.text().isEmpty()) {
                    words.clear();
                    if (preTokenizer == null) {
                        words.add(s.text());
                    } else {
                        preTokenizer.split(s.text(), first, words);
                    }
                    for (String w : words) {
                        model.encode(w, out);
                    }
                }
                first = false;
            }
        }
        int[] ids = out.toArray();
        return addSpecial ? postProcessor.process(ids) : ids;
    }

    @Override
    public String decode(int[] ids) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            checkId(id);
            if (!special[id] && texts[id] != null) {
                tokens.add(texts[id]);
            }
        }
        if (decoders.isEmpty()) {
            return String.join(" ", tokens); // the library's behaviour without a decoder
        }
        return HfComponents.decode(decoders, tokens);
    }

    @Override
    public int vocabSize() {
        return texts.length;
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        byte[] b = pieces[id];
        if (b == null) {
            b = special[id] || texts[id] == null ? new byte[0] : HfComponents.tokenBytes(decoders, texts[id]);
            pieces[id] = b; // racy but idempotent
        }
        return Arrays.copyOf(b, b.length);
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        return texts[id] == null ? "" : texts[id];
    }

    @Override
    public SpecialTokens special() {
        return specialTokens;
    }

    /** Whether the token is a special added token (rendered as nothing by {@link #decode}). */
    public boolean isSpecial(int id) {
        checkId(id);
        return special[id];
    }

    private void checkId(int id) {
        if (id < 0 || id >= texts.length) {
            throw new MetagenException("token id " + id + " is out of range: " + source + " has " + texts.length
                    + " tokens (ids 0 to " + (texts.length - 1) + ")");
        }
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + source + ", " + texts.length + " tokens]";
    }

}
