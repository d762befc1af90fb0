package dev.metagen.decoding.speculative;

/**
 * Prompt lookup decoding (Saxena 2023): the last n tokens are searched for earlier in the prompt and the text so
 * far, and the tokens that followed the most recent match are proposed. The draft is deterministic (q one-hot).
 * Tries n = maxNgram down to 1 and takes the first size that matches.
 */
public final class PromptLookupSource implements DraftSource {
    private final int maxNgram;

    /**
     * A source that matches n-grams of up to {@code maxNgram} tokens.
     *
     * @param maxNgram the longest n-gram tried, in [1, 64]
     */
    public PromptLookupSource(int maxNgram) {
        if (maxNgram < 1 || maxNgram > 64) {
            throw new dev.metagen.core.MetagenException("lookup n-gram size must be in [1, 64], got " + maxNgram);
        }
        this.maxNgram = maxNgram;
    }

    /** {@return the longest n-gram tried} */
    public int maxNgram() {
        return maxNgram;
    }

    @Override
    public Draft propose(int[] context, int k, TargetDistribution target) {
        int len = context.length;
        if (k <= 0) {
            return Draft.EMPTY;
        }
        for (int n = Math.min(maxNgram, len - 1); n >= 1; n--) {
            // most recent earlier occurrence of the last n tokens that has at least one token after it
            for (int start = len - n - 1; start >= 0; start--) {
                if (matches(context, start, len - n, n)) {
                    int from = start + n;
                    int count = Math.min(k, len - from);
                    return new Draft(java.util.Arrays.copyOfRange(context, from, from + count), null);
                }
            }
        }
        return Draft.EMPTY;
    }

    private static boolean matches(int[] a, int i, int j, int n) {
        for (int t = 0; t < n; t++) {
            if (a[i + t] != a[j + t]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String describe() {
        return "prompt lookup (n-gram " + maxNgram + ")";
    }
}
