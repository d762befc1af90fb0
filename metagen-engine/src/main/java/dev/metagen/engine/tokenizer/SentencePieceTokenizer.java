package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE by piece score ({@code tokenizer.ggml.model = "llama"}), as llama.cpp's
 * {@code llm_tokenizer_spm}: spaces become {@code ▁}, a dummy {@code ▁} prefix goes before text that starts the input
 * or follows a special token, the highest-scoring adjacent pair is merged while one exists, and characters that end
 * up in no token fall back to their UTF-8 bytes as {@code <0xXX>} tokens.
 */
public final class SentencePieceTokenizer extends VocabularyTokenizer {

    /** Token of each byte value for byte fallback, -1 where the vocabulary has none. */
    private final int[] byteTokens = new int[256];

    SentencePieceTokenizer(Vocabulary vocab) {
        super(vocab);
        for (int b = 0; b < 256; b++) {
            // llama.cpp's byte_to_token: <0xXX>, else the byte as a one-character token
            int id = vocab.id(String.format("<0x%02X>", b));
            byteTokens[b] = id >= 0 || b >= 0x80 ? id : vocab.id(String.valueOf((char) b));
        }
    }

    @Override
    byte[] normalPiece(String text) {
        return text.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    void encodeFragments(String text, List<Vocabulary.Fragment> fragments, PreTokenizer.IntList out) {
        boolean prevSpecial = true; // the dummy prefix goes before the first text
        for (Vocabulary.Fragment f : fragments) {
            if (f.isText()) {
                String piece = (vocab.addSpacePrefix && prevSpecial ? " " : "") + text.substring(f.start(), f.end());
                tokenize(piece.replace(' ', '\u2581'), out);
                prevSpecial = false;
            } else {
                out.add(f.token());
                prevSpecial = true;
            }
        }
    }

    /** A run of the input: [start, start + length) in the string, linked to its neighbours. */
    private static final class Symbol {
        int start;
        int length;
        int prev;
        int next;
    }

    private record Bigram(int left, int right, float score, int length) {}

    private void tokenize(String text, PreTokenizer.IntList out) {
        List<Symbol> symbols = new ArrayList<>();
        for (int i = 0; i < text.length(); ) {
            Symbol s = new Symbol();
            s.start = i;
            s.length = Character.charCount(text.codePointAt(i));
            i += s.length;
            s.prev = symbols.size() - 1;
            s.next = i == text.length() ? -1 : symbols.size() + 1;
            symbols.add(s);
        }
        // best score first; on a tie the leftmost pair
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score() != b.score()
                ? Float.compare(b.score(), a.score()) : Integer.compare(a.left(), b.left()));
        for (int i = 1; i < symbols.size(); i++) {
            addBigram(text, symbols, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            Symbol left = symbols.get(b.left());
            Symbol right = symbols.get(b.right());
            // skip pairs whose symbols have since been merged into something else
            if (left.length == 0 || right.length == 0 || left.length + right.length != b.length()) {
                continue;
            }
            left.length += right.length;
            right.length = 0;
            left.next = right.next;
            if (right.next >= 0) {
                symbols.get(right.next).prev = b.left();
            }
            addBigram(text, symbols, left.prev, b.left(), queue);
            addBigram(text, symbols, b.left(), left.next, queue);
        }
        for (int i = symbols.isEmpty() ? -1 : 0; i != -1; i = symbols.get(i).next) {
            Symbol s = symbols.get(i);
            String piece = text.substring(s.start, s.start + s.length);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            // only single characters can miss the vocabulary (merges only form existing tokens): spell their bytes
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                out.add(byteToken(b & 0xFF));
            }
        }
    }

    private void addBigram(String text, List<Symbol> symbols, int left, int right, PriorityQueue<Bigram> queue) {
        if (left == -1 || right == -1) {
            return;
        }
        Symbol l = symbols.get(left);
        Symbol r = symbols.get(right);
        int id = vocab.id(text.substring(l.start, l.start + l.length + r.length));
        if (id < 0) {
            return;
        }
        queue.add(new Bigram(left, right, vocab.scores[id], l.length + r.length));
    }

    /** The byte's token; where llama.cpp would fail (no such token) the unknown token, else an error. */
    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id < 0) {
            id = vocab.unk;
        }
        if (id < 0) {
            throw new MetagenException(vocab.source + ": cannot tokenize byte 0x" + Integer.toHexString(b)
                    + ": the vocabulary has no <0x" + String.format("%02X", b) + "> token and no unknown token");
        }
        return id;
    }
}
