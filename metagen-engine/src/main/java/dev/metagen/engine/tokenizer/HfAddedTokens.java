package dev.metagen.engine.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The added tokens of a {@code tokenizer.json} that are matched in one pass (raw or normalized text), found as the
 * {@code tokenizers} library's {@code AddedVocabulary} finds them: leftmost-longest, then {@code single_word},
 * {@code lstrip} and {@code rstrip} applied, and special tokens skipped when they are not to be parsed.
 */
final class HfAddedTokens {

    /** One added token; {@code content} is what is matched (already normalized for the normalized pass). */
    record Added(int id, String content, boolean special, boolean singleWord, boolean lstrip, boolean rstrip,
                 boolean normalized) {
        Added withContent(String c) {
            return new Added(id, c, special, singleWord, lstrip, rstrip, normalized);
        }
    }

    /** A piece of text, or an added token ({@code token >= 0}). */
    record Segment(String text, int token) {}

    private static final class Node {
        final Map<Character, Node> next = new HashMap<>(4);
        Added token;
    }

    private final Node root = new Node();
    private final boolean empty;

    HfAddedTokens(List<Added> tokens) {
        for (Added t : tokens) {
            Node n = root;
            for (int i = 0; i < t.content().length(); i++) {
                n = n.next.computeIfAbsent(t.content().charAt(i), c -> new Node());
            }
            if (n.token == null) {
                n.token = t; // the first of two equal contents wins
            }
        }
        this.empty = tokens.isEmpty();
    }

    List<Segment> split(String s, boolean parseSpecial) {
        if (empty || s.isEmpty()) {
            return List.of(new Segment(s, -1));
        }
        List<Segment> out = new ArrayList<>();
        int startOffset = 0;
        int i = 0;
        int n = s.length();
        while (i < n) {
            // the longest token starting at i
            Node node = root;
            Added match = null;
            int matchEnd = -1;
            for (int j = i; j < n; j++) {
                node = node.next.get(s.charAt(j));
                if (node == null) {
                    break;
                }
                if (node.token != null) {
                    match = node.token;
                    matchEnd = j + 1;
                }
            }
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int stop = matchEnd;
            i = matchEnd; // matches do not overlap, even when this one is skipped
            if (match.special() && !parseSpecial) {
                continue;
            }
            if (match.singleWord() && (start > 0 && isWordChar(s.codePointBefore(start))
                    || stop < n && isWordChar(s.codePointAt(stop)))) {
                continue;
            }
            if (start < startOffset) {
                continue; // inside the whitespace a previous rstrip took
            }
            if (match.lstrip()) {
                int k = start;
                while (k > startOffset && HfComponents.isWhitespace(s.codePointBefore(k))) {
                    k -= Character.charCount(s.codePointBefore(k));
                }
                start = k;
            }
            if (match.rstrip()) {
                while (stop < n && HfComponents.isWhitespace(s.codePointAt(stop))) {
                    stop += Character.charCount(s.codePointAt(stop));
                }
                i = stop;
            }
            if (startOffset < start) {
                out.add(new Segment(s.substring(startOffset, start), -1));
            }
            out.add(new Segment(s.substring(start, stop), match.id()));
            startOffset = stop;
        }
        if (startOffset < n) {
            out.add(new Segment(s.substring(startOffset), -1));
        }
        return out;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
