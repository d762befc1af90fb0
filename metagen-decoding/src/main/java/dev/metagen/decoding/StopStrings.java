package dev.metagen.decoding;

import java.util.List;

/**
 * Stop-string matching over streamed text: a stop string may span several tokens, so text that could still
 * become the start of a stop string is held back until it is decided.
 */
public final class StopStrings {
    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean stopped;

    /**
     * A matcher of {@code stops} (empty strings are ignored).
     *
     * @param stops the stop strings
     */
    public StopStrings(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /**
     * Adds newly decoded text and returns what can be emitted now. After a stop string is found,
     * {@link #stopped()} is true and the returned text ends right before it.
     *
     * @param text newly decoded text
     * @return the text that can be emitted
     */
    public String accept(String text) {
        if (stopped) {
            return "";
        }
        pending.append(text);
        int cut = -1;
        for (String s : stops) {
            int at = pending.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String out = pending.substring(0, cut);
            pending.setLength(0);
            return out;
        }
        int hold = longestSuffixThatStartsAStop();
        String out = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return out;
    }

    /**
     * Emits the held-back text at the end of generation.
     *
     * @return the held-back text
     */
    public String flush() {
        String out = stopped ? "" : pending.toString();
        pending.setLength(0);
        return out;
    }

    /** {@return whether a stop string was found} */
    public boolean stopped() {
        return stopped;
    }

    private int longestSuffixThatStartsAStop() {
        int best = 0;
        String p = pending.toString();
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, p.length()); len > best; len--) {
                if (p.regionMatches(p.length() - len, s, 0, len)) {
                    best = len;
                    break;
                }
            }
        }
        return best;
    }
}
