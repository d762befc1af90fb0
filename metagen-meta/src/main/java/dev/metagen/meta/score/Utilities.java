package dev.metagen.meta.score;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * MBR utilities (Bertsch et al., 2023): exact match, bag-of-tokens F1 (SQuAD, Rajpurkar et al., 2016),
 * ROUGE-L F-measure (Lin, 2004) and chrF with n = 6, beta = 2 (Popović, 2015).
 */
public final class Utilities {
    private Utilities() {
    }

    /**
     * Exact match of the trimmed texts: 1 or 0.
     *
     * @return the utility
     */
    public static Utility exactMatch() {
        return (a, b) -> a.strip().equals(b.strip()) ? 1.0 : 0.0;
    }

    static List<String> words(String s) {
        List<String> out = new ArrayList<>();
        for (String w : s.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    /**
     * Bag-of-words F1 over lower-cased words (as SQuAD's).
     *
     * @return the utility
     */
    public static Utility tokenF1() {
        return (a, b) -> {
            List<String> h = words(a);
            List<String> r = words(b);
            if (h.isEmpty() || r.isEmpty()) {
                return h.isEmpty() && r.isEmpty() ? 1.0 : 0.0;
            }
            Map<String, Integer> counts = new HashMap<>();
            for (String w : r) {
                counts.merge(w, 1, Integer::sum);
            }
            int common = 0;
            for (String w : h) {
                Integer c = counts.get(w);
                if (c != null && c > 0) {
                    common++;
                    counts.put(w, c - 1);
                }
            }
            return f(common / (double) h.size(), common / (double) r.size(), 1);
        };
    }

    /**
     * ROUGE-L F-measure (longest common subsequence of lower-cased words).
     *
     * @return the utility
     */
    public static Utility rougeL() {
        return (a, b) -> {
            List<String> h = words(a);
            List<String> r = words(b);
            if (h.isEmpty() || r.isEmpty()) {
                return h.isEmpty() && r.isEmpty() ? 1.0 : 0.0;
            }
            // longest common subsequence, one row at a time
            int[] prev = new int[r.size() + 1];
            int[] cur = new int[r.size() + 1];
            for (String hw : h) {
                for (int j = 1; j <= r.size(); j++) {
                    cur[j] = hw.equals(r.get(j - 1)) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
                }
                int[] t = prev;
                prev = cur;
                cur = t;
            }
            int lcs = prev[r.size()];
            return f(lcs / (double) h.size(), lcs / (double) r.size(), 1);
        };
    }

    /**
     * chrF with n up to 6 and beta 2 (sacrebleu's defaults).
     *
     * @return the utility
     */
    public static Utility chrF() {
        return chrF(6, 2);
    }

    /**
     * chrF: character n-gram F-beta averaged over n = 1..maxN (whitespace removed, as in sacrebleu).
     *
     * @param maxN the largest n-gram
     * @param beta recall's weight
     * @return the utility
     */
    public static Utility chrF(int maxN, double beta) {
        return (a, b) -> {
            String h = a.replaceAll("\\s+", "");
            String r = b.replaceAll("\\s+", "");
            double precision = 0;
            double recall = 0;
            int orders = 0;
            for (int n = 1; n <= maxN; n++) {
                Map<String, Integer> hg = ngrams(h, n);
                Map<String, Integer> rg = ngrams(r, n);
                if (hg.isEmpty() || rg.isEmpty()) {
                    continue;
                }
                int hTotal = 0;
                int rTotal = 0;
                int match = 0;
                for (var e : hg.entrySet()) {
                    hTotal += e.getValue();
                    match += Math.min(e.getValue(), rg.getOrDefault(e.getKey(), 0));
                }
                for (int c : rg.values()) {
                    rTotal += c;
                }
                precision += match / (double) hTotal;
                recall += match / (double) rTotal;
                orders++;
            }
            if (orders == 0) {
                return h.equals(r) ? 1.0 : 0.0;
            }
            return f(precision / orders, recall / orders, beta);
        };
    }

    private static Map<String, Integer> ngrams(String s, int n) {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i + n <= s.length(); i++) {
            m.merge(s.substring(i, i + n), 1, Integer::sum);
        }
        return m;
    }

    private static double f(double p, double r, double beta) {
        if (p == 0 && r == 0) {
            return 0;
        }
        double b2 = beta * beta;
        return (1 + b2) * p * r / (b2 * p + r);
    }
}
