package dev.metagen.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = "gpt2"}), as llama.cpp's {@code llm_tokenizer_bpe}: the text is split
 * into words by the pre-tokenizer that {@code tokenizer.ggml.pre} names, each word's UTF-8 bytes are spelled in
 * GPT-2's byte-to-unicode alphabet, and adjacent symbols are merged by lowest merge rank
 * ({@code tokenizer.ggml.merges}, Sennrich et al. 2016 / Radford et al. 2019).
 */
public final class ByteLevelBpeTokenizer extends VocabularyTokenizer {
    /** GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest for U+0100 onwards. */
    static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = printable ? (char) b : (char) (256 + n++);
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    /** The byte a character of GPT-2's byte alphabet stands for, or -1. */
    static int byteOfChar(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    private final PreTokenizer preTokenizer;
    private final boolean ignoreMerges;
    private final Map<String, Integer> mergeRanks;

    ByteLevelBpeTokenizer(Vocabulary vocab, String[] merges, PreTokenizer preTokenizer, boolean ignoreMerges) {
        super(vocab);
        this.preTokenizer = preTokenizer;
        this.ignoreMerges = ignoreMerges;
        this.mergeRanks = HashMap.newHashMap(merges.length);
        for (int i = 0; i < merges.length; i++) {
            // split at the first space after the first character, as llama.cpp does; the first rank of a pair wins
            int sp = merges[i].indexOf(' ', 1);
            String key = sp < 0 ? "\u0000" : merges[i].substring(0, sp) + '\u0000' + merges[i].substring(sp + 1);
            mergeRanks.putIfAbsent(key, i);
        }
    }

    /** The pre-tokenizer in use. */
    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    @Override
    byte[] normalPiece(String text) {
        // llama.cpp's llama_decode_text: map each character back to its byte
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                // a character outside the byte alphabet: llama.cpp writes this marker
                StringBuilder sb = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    sb.append(String.format("%02x", u & 0xFF));
                }
                sb.append(text).append(']');
                out.writeBytes(sb.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }

    @Override
    void encodeFragments(String text, List<Vocabulary.Fragment> fragments, PreTokenizer.IntList out) {
        for (Vocabulary.Fragment f : fragments) {
            if (!f.isText()) {
                out.add(f.token());
                continue;
            }
            int[] cpts = text.substring(f.start(), f.end()).codePoints().toArray();
            int start = 0;
            for (int len : preTokenizer.splitLengths(cpts)) {
                tokenizeWord(byteEncode(new String(cpts, start, len)), out);
                start += len;
            }
        }
    }

    private static String byteEncode(String word) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        char[] chars = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            chars[i] = BYTE_TO_CHAR[utf8[i] & 0xFF];
        }
        return new String(chars);
    }

    private record Bigram(int left, int right, int rank, int leftLength, int rightLength) {}

    /** BPE over one byte-encoded word (all characters are in the BMP byte alphabet, one char per symbol). */
    private void tokenizeWord(String word, PreTokenizer.IntList out) {
        int n = word.length();
        if (ignoreMerges && vocab.id(word) >= 0) {
            out.add(vocab.id(word));
            return;
        }
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            start[i] = i;
            length[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 == n ? -1 : i + 1;
        }
        // lowest rank first; on a tie the leftmost pair
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.rank() != b.rank()
                ? Integer.compare(a.rank(), b.rank()) : Integer.compare(a.left(), b.left()));
        for (int i = 1; i < n; i++) {
            addBigram(word, start, length, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int l = b.left();
            int r = b.right();
            // outdated when either side has changed since the pair was queued
            if (length[l] != b.leftLength() || length[r] != b.rightLength()) {
                continue;
            }
            length[l] += length[r];
            length[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            addBigram(word, start, length, prev[l], l, queue);
            addBigram(word, start, length, l, next[l], queue);
        }
        for (int i = 0; i != -1 && n > 0; i = next[i]) {
            String piece = word.substring(start[i], start[i] + length[i]);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            // llama.cpp looks up each UTF-8 byte of the symbol on its own; only ASCII ones can be tokens
            for (int k = 0; k < piece.length(); k++) {
                char c = piece.charAt(k);
                int single = c < 0x80 ? vocab.id(String.valueOf(c)) : -1;
                if (single >= 0) {
                    out.add(single);
                }
            }
        }
    }

    private void addBigram(String word, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
        if (left == -1 || right == -1) {
            return;
        }
        String l = word.substring(start[left], start[left] + length[left]);
        String r = word.substring(start[right], start[right] + length[right]);
        Integer rank = mergeRanks.get(l + '\u0000' + r);
        if (rank != null) {
            queue.add(new Bigram(left, right, rank, length[left], length[right]));
        }
    }
}
