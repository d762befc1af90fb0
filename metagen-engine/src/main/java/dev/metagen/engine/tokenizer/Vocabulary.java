package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;
import dev.metagen.core.SpecialTokens;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A GGUF vocabulary as llama.cpp's {@code llama_vocab} loads it: token texts, scores, per-token attributes (from
 * {@code tokenizer.ggml.token_type}, then adjusted by llama.cpp's auto-detection of EOT/EOG/FIM tokens), special ids
 * and the list of special tokens that {@code tokenizer_st_partition} cuts out of the input text.
 */
final class Vocabulary {
    // llama_token_attr bits
    static final int ATTR_UNKNOWN = 1;
    static final int ATTR_UNUSED = 1 << 1;
    static final int ATTR_NORMAL = 1 << 2;
    static final int ATTR_CONTROL = 1 << 3;
    static final int ATTR_USER_DEFINED = 1 << 4;
    static final int ATTR_BYTE = 1 << 5;
    static final int ATTR_LSTRIP = 1 << 7;
    static final int ATTR_RSTRIP = 1 << 8;

    /** GGUF token types (tokenizer.ggml.token_type). */
    static int attrOfType(int type) {
        return switch (type) {
            case 1 -> ATTR_NORMAL;
            case 2 -> ATTR_UNKNOWN;
            case 3 -> ATTR_CONTROL;
            case 4 -> ATTR_USER_DEFINED;
            case 5 -> ATTR_UNUSED;
            case 6 -> ATTR_BYTE;
            default -> 0; // undefined
        };
    }

    final String source;
    final String[] texts;
    final float[] scores;
    final int[] attrs;
    final Map<String, Integer> ids;
    final int bos;
    final int eos;
    final int unk;
    final int pad;
    final boolean addBos;
    final boolean addEos;
    final boolean addSpacePrefix;
    final Set<Integer> endOfGeneration;
    /** Control, user-defined and unknown tokens, longest text (in UTF-8 bytes) first. */
    final int[] specialTokens;

    /** Raw metadata for a vocabulary; the constructor applies llama.cpp's defaults and fix-ups. */
    record Metadata(String source, String[] texts, float[] scores, int[] types, String modelName,
                    int defaultBos, int defaultEos, int defaultUnk, int defaultPad,
                    Map<String, Long> specialIds, Boolean addBos, boolean defaultAddBos, Boolean addEos,
                    Boolean addSpacePrefix, boolean defaultAddSpacePrefix) {}

    Vocabulary(Metadata md) {
        this.source = md.source();
        int n = md.texts().length;
        texts = new String[n];
        scores = new float[n];
        attrs = new int[n];
        ids = HashMap.newHashMap(n);
        for (int i = 0; i < n; i++) {
            String t = md.texts()[i];
            if (t == null || t.isEmpty()) {
                t = "[EMPTY_" + i + "]"; // llama.cpp's name for empty tokens
            }
            texts[i] = t;
            ids.put(t, i);
            scores[i] = md.scores() != null ? md.scores()[i] : 0f;
            attrs[i] = md.types() != null ? attrOfType(md.types()[i]) : ATTR_NORMAL;
        }

        // special ids: model-type defaults (disabled when out of range), overridden by in-range metadata values
        int bos = inRange(md.defaultBos(), n);
        int eos = inRange(md.defaultEos(), n);
        int unk = inRange(md.defaultUnk(), n);
        int pad = inRange(md.defaultPad(), n);
        int eot = -1;
        int eom = -1;
        int fimPre = -1;
        int fimSuf = -1;
        int fimMid = -1;
        int fimPad = -1;
        int fimRep = -1;
        int fimSep = -1;
        Map<String, Long> sid = md.specialIds();
        bos = override(sid.get("bos"), bos, n);
        eos = override(sid.get("eos"), eos, n);
        eot = override(sid.get("eot"), eot, n);
        eom = override(sid.get("eom"), eom, n);
        unk = override(sid.get("unknown"), unk, n);
        pad = override(sid.get("padding"), pad, n);
        fimPre = override(sid.get("fim_pre"), override(sid.get("prefix"), fimPre, n), n);
        fimSuf = override(sid.get("fim_suf"), override(sid.get("suffix"), fimSuf, n), n);
        fimMid = override(sid.get("fim_mid"), override(sid.get("middle"), fimMid, n), n);
        fimPad = override(sid.get("fim_pad"), fimPad, n);
        fimRep = override(sid.get("fim_rep"), fimRep, n);
        fimSep = override(sid.get("fim_sep"), fimSep, n);

        this.addBos = md.addBos() != null ? md.addBos() : md.defaultAddBos();
        this.addEos = md.addEos() != null ? md.addEos() : false;
        this.addSpacePrefix = md.addSpacePrefix() != null ? md.addSpacePrefix() : md.defaultAddSpacePrefix();

        // llama.cpp finds EOT/EOM/FIM tokens by their text and marks them as control tokens
        if (eot < 0) {
            eot = findAndMarkControl("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                    "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>");
        }
        if (eom < 0) {
            eom = findAndMarkControl("<|eom_id|>");
        }
        if (fimPre < 0) {
            fimPre = findAndMarkControl("<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                    "▁<PRE>", "<|code_prefix|>", "<|prefix|>");
        }
        if (fimSuf < 0) {
            fimSuf = findAndMarkControl("<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                    "▁<SUF>", "<|code_suffix|>", "<|suffix|>");
        }
        if (fimMid < 0) {
            fimMid = findAndMarkControl("<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                    "▁<MID>", "<|code_middle|>", "<|middle|>");
        }
        if (fimPad < 0) {
            fimPad = findAndMarkControl("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]");
        }
        if (fimRep < 0) {
            fimRep = findAndMarkControl("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
        }
        if (fimSep < 0) {
            fimSep = findAndMarkControl("<|file_sep|>");
        }

        // end-of-generation tokens, found by text as llama.cpp does (ref: llama.cpp issue 9606)
        TreeSet<Integer> eog = new TreeSet<>();
        for (int id : new int[]{fimPad, fimRep, fimSep}) {
            if (id >= 0) {
                eog.add(id);
            }
        }
        for (String t : List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                "<｜end▁of▁sentence｜>", "[e~[")) {
            Integer id = ids.get(t);
            if (id != null) {
                eog.add(id);
                attrs[id] |= ATTR_CONTROL;
            }
        }
        // gpt-oss: these are always rendered
        for (String t : List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")) {
            Integer id = ids.get(t);
            if (id != null) {
                attrs[id] = ATTR_USER_DEFINED;
            }
        }
        for (int id : new int[]{eos, eot, eom}) {
            if (id >= 0) {
                eog.add(id);
            }
        }
        // o200k_harmony / solar-open: "<|end|>" is not an end of generation there
        boolean hasReturn = hasEogText(eog, "<|return|>");
        boolean hasCall = hasEogText(eog, "<|call|>") || hasEogText(eog, "<|calls|>");
        boolean hasFlush = hasEogText(eog, "<|flush|>");
        Integer end = ids.get("<|end|>");
        if (end != null && eog.contains(end) && ((hasReturn && hasCall) || (hasCall && hasFlush))) {
            eog.remove(end);
            attrs[end] = ATTR_USER_DEFINED;
        }
        // gemma4 / paddleocr: "</s>" is not an end of generation when "<|tool_response>" is one
        Integer s = ids.get("</s>");
        if (s != null && eog.contains(s) && hasEogText(eog, "<|tool_response>")) {
            eog.remove(s);
            attrs[s] = ATTR_NORMAL;
        }

        this.bos = bos;
        this.eos = eos;
        this.unk = unk;
        this.pad = pad;
        this.endOfGeneration = Set.copyOf(eog);

        List<Integer> special = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if ((attrs[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0) {
                special.add(i);
            }
        }
        int[] byteLength = new int[n];
        for (int id : special) {
            byteLength[id] = texts[id].getBytes(StandardCharsets.UTF_8).length;
        }
        special.sort(Comparator.comparingInt((Integer id) -> -byteLength[id]));
        this.specialTokens = special.stream().mapToInt(Integer::intValue).toArray();

        // per-model attributes llama.cpp sets by name: Phi-3 strips whitespace right of its special tokens
        String name = md.modelName() == null ? "" : md.modelName().toLowerCase(java.util.Locale.ROOT);
        if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specialTokens) {
                attrs[id] |= ATTR_RSTRIP;
            }
            setAttr("</s>", ATTR_RSTRIP, true);
            for (String t : List.of("<unk>", "<s>", "<|endoftext|>")) {
                setAttr(t, ATTR_RSTRIP, false);
            }
        }
    }

    private void setAttr(String text, int attr, boolean on) {
        Integer id = ids.get(text);
        if (id != null) {
            attrs[id] = on ? attrs[id] | attr : attrs[id] & ~attr;
        }
    }

    private boolean hasEogText(Set<Integer> eog, String text) {
        Integer id = ids.get(text);
        return id != null && eog.contains(id);
    }

    /** The lowest id among tokens with one of these texts, marked as control; -1 if none. */
    private int findAndMarkControl(String... candidates) {
        int best = -1;
        for (String c : candidates) {
            Integer id = ids.get(c);
            if (id != null && (best < 0 || id < best)) {
                best = id;
            }
        }
        if (best >= 0) {
            attrs[best] |= ATTR_CONTROL;
        }
        return best;
    }

    private static int inRange(int id, int n) {
        return id >= 0 && id < n ? id : -1;
    }

    /**
     * llama.cpp keeps the previous id when the metadata value is out of range; GgufTokenizers.validate lets only the
     * "none" values (4294967295, -1) through, so those are the out-of-range values that reach here.
     */
    private static int override(Long value, int previous, int n) {
        if (value == null) {
            return previous;
        }
        return value >= 0 && value < n ? (int) (long) value : previous;
    }

    int size() {
        return texts.length;
    }

    boolean has(int attr, int id) {
        return (attrs[id] & attr) != 0;
    }

    /** The token with exactly this text, or -1. */
    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    SpecialTokens specialTokens() {
        return new SpecialTokens(bos, eos, unk, pad, addBos, addEos, endOfGeneration);
    }

    void checkId(int id) {
        if (id < 0 || id >= texts.length) {
            throw new MetagenException(source + ": token id " + id + " is outside the vocabulary of " + texts.length);
        }
    }

    /** A piece of input: either text still to tokenize ({@code token < 0}) or a special token cut out of it. */
    record Fragment(int token, int start, int end) {
        boolean isText() {
            return token < 0;
        }
    }

    /**
     * Cuts special tokens out of the text, longest first, as llama.cpp's {@code tokenizer_st_partition}: control and
     * unknown tokens only when {@code parseSpecial}, user-defined tokens always. Honours lstrip/rstrip attributes.
     */
    List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Fragment(-1, 0, text.length()));
        for (int id : specialTokens) {
            if (!parseSpecial && (attrs[id] & (ATTR_CONTROL | ATTR_UNKNOWN)) != 0) {
                continue;
            }
            String needle = texts[id];
            List<Fragment> next = null;
            for (int f = 0; f < fragments.size(); f++) {
                Fragment frag = fragments.get(f);
                int match = frag.isText() ? indexOf(text, needle, frag.start(), frag.end()) : -1;
                if (match < 0) {
                    if (next != null) {
                        next.add(frag);
                    }
                    continue;
                }
                if (next == null) {
                    next = new ArrayList<>(fragments.subList(0, f));
                }
                int start = frag.start();
                int end = frag.end();
                while (match >= 0) {
                    int leftEnd = match;
                    if ((attrs[id] & ATTR_LSTRIP) != 0) {
                        while (leftEnd > start && isAsciiSpace(text.charAt(leftEnd - 1))) {
                            leftEnd--;
                        }
                    }
                    if (leftEnd > start) {
                        next.add(new Fragment(-1, start, leftEnd));
                    }
                    next.add(new Fragment(id, match, match + needle.length()));
                    start = match + needle.length();
                    if ((attrs[id] & ATTR_RSTRIP) != 0) {
                        while (start < end && isAsciiSpace(text.charAt(start))) {
                            start++;
                        }
                    }
                    match = indexOf(text, needle, start, end);
                }
                if (start < end) {
                    next.add(new Fragment(-1, start, end));
                }
            }
            if (next != null) {
                fragments = next;
            }
        }
        return fragments;
    }

    private static int indexOf(String text, String needle, int from, int to) {
        int i = text.indexOf(needle, from);
        return i >= 0 && i + needle.length() <= to ? i : -1;
    }

    /** C's isspace in the "C" locale. */
    private static boolean isAsciiSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    @Override
    public String toString() {
        return "Vocabulary[" + source + ", " + texts.length + " tokens, special " + Arrays.toString(
                Arrays.copyOf(specialTokens, Math.min(8, specialTokens.length))) + "...]";
    }
}
