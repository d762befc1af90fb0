package dev.metagen.engine.tokenizer;

import dev.metagen.core.MetagenException;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a Hugging Face {@code tokenizer.json} (Sennrich et al. 2016), as the {@code tokenizers} library's
 * {@code models::bpe} runs it: each character of a pre-token becomes a symbol (with {@code continuing_subword_prefix}
 * and {@code end_of_word_suffix}, else its {@code <0xXX>} bytes under {@code byte_fallback}, else the unknown token,
 * fused under {@code fuse_unk}), then adjacent pairs merge by lowest merge rank, leftmost first.
 */
final class HfBpe {
    private static final int CACHE_LIMIT = 50_000;
    private static final int CACHE_WORD_LIMIT = 256;

    final Map<String, Integer> vocab;
    private final int unk;
    private final boolean fuseUnk;
    private final boolean byteFallback;
    private final boolean ignoreMerges;
    private final String prefix;
    private final String suffix;
    /** (left id, right id) to (rank, merged id). */
    private final LongLongMap merges;
    /** Ids of single-character tokens of the BMP, -1 where there is none; used when no prefix/suffix applies. */
    private final int[] charIds = new int[65536];
    private final int[] byteIds = new int[256];
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    HfBpe(String source, Map<String, Integer> vocab, String[][] mergePairs, String unkToken, boolean fuseUnk,
          boolean byteFallback, boolean ignoreMerges, String prefix, String suffix) {
        this.vocab = vocab;
        this.fuseUnk = fuseUnk;
        this.byteFallback = byteFallback;
        this.ignoreMerges = ignoreMerges;
        this.prefix = prefix == null || prefix.isEmpty() ? null : prefix;
        this.suffix = suffix == null || suffix.isEmpty() ? null : suffix;
        if (unkToken != null) {
            Integer u = vocab.get(unkToken);
            if (u == null) {
                throw new MetagenException(source + ": model.unk_token '" + unkToken + "' is not in model.vocab");
            }
            this.unk = u;
        } else {
            this.unk = -1;
        }
        Arrays.fill(charIds, -1);
        for (Map.Entry<String, Integer> e : vocab.entrySet()) {
            if (e.getKey().length() == 1) {
                charIds[e.getKey().charAt(0)] = e.getValue();
            }
        }
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.format("<0x%02X>", b));
            byteIds[b] = id == null ? -1 : id;
        }
        int prefixLength = this.prefix == null ? 0 : this.prefix.length();
        this.merges = new LongLongMap(mergePairs.length);
        for (int i = 0; i < mergePairs.length; i++) {
            String a = mergePairs[i][0];
            String b = mergePairs[i][1];
            Integer aId = vocab.get(a);
            Integer bId = vocab.get(b);
            String merged = a + (prefixLength > 0 && b.startsWith(this.prefix) ? b.substring(prefixLength) : b);
            Integer newId = vocab.get(merged);
            if (aId == null || bId == null || newId == null) {
                String missing = aId == null ? a : bId == null ? b : merged;
                throw new MetagenException(source + ": model.merges[" + i + "] = '" + a + " " + b + "' "
                        + (newId == null && aId != null && bId != null ? "makes" : "names") + " '" + missing
                        + "', which is not in model.vocab");
            }
            // as in the tokenizers library, a later duplicate of a pair replaces the earlier one
            merges.put(pairKey(aId, bId), ((long) i << 32) | newId);
        }
    }

    void clearCache() {
        cache.clear();
    }

    int unk() {
        return unk;
    }

    boolean byteFallback() {
        return byteFallback;
    }

    private static long pairKey(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** Appends the ids of one pre-token. */
    void encode(String word, PreTokenizer.IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer id = vocab.get(word);
            if (id != null) {
                out.add(id);
                return;
            }
        }
        int[] ids = word.length() < CACHE_WORD_LIMIT ? cache.get(word) : null;
        if (ids == null) {
            ids = mergeWord(word);
            if (word.length() < CACHE_WORD_LIMIT) {
                if (cache.size() >= CACHE_LIMIT) {
                    cache.clear();
                }
                cache.put(word, ids);
            }
        }
        for (int id : ids) {
            out.add(id);
        }
    }

    private int[] mergeWord(String w) {
        PreTokenizer.IntList symbols = new PreTokenizer.IntList();
        int pendingUnk = -1; // the unknown token waiting to be added (fused over adjacent unknown characters)
        int n = w.length();
        for (int i = 0; i < n; ) {
            int cp = w.codePointAt(i);
            int next = i + Character.charCount(cp);
            boolean first = i == 0;
            boolean last = next == n;
            int id;
            String s = null;
            if ((prefix == null || first) && (suffix == null || !last) && cp < 65536) {
                id = charIds[cp];
            } else {
                s = w.substring(i, next);
                if (prefix != null && !first) {
                    s = prefix + s;
                }
                if (suffix != null && last) {
                    s = s + suffix;
                }
                Integer v = vocab.get(s);
                id = v == null ? -1 : v;
            }
            i = next;
            if (id >= 0) {
                if (pendingUnk >= 0) {
                    symbols.add(pendingUnk);
                    pendingUnk = -1;
                }
                symbols.add(id);
                continue;
            }
            if (byteFallback) {
                byte[] bytes = (s != null ? s : new String(Character.toChars(cp))).getBytes(StandardCharsets.UTF_8);
                boolean all = true;
                for (byte b : bytes) {
                    all &= byteIds[b & 0xFF] >= 0;
                }
                if (all) {
                    for (byte b : bytes) {
                        symbols.add(byteIds[b & 0xFF]);
                    }
                    continue;
                }
            }
            if (unk >= 0) {
                if (pendingUnk >= 0 && !fuseUnk) {
                    symbols.add(pendingUnk);
                }
                pendingUnk = unk;
            }
            // without an unknown token the character is dropped, as Hugging Face's implementations do
        }
        if (pendingUnk >= 0) {
            symbols.add(pendingUnk);
        }
        return mergeAll(symbols.toArray());
    }

    /** Merges adjacent symbols by lowest rank, then leftmost position (the tokenizers library's {@code merge_all}). */
    private int[] mergeAll(int[] c) {
        int n = c.length;
        if (n < 2) {
            return c;
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] gone = new boolean[n];
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            if (i + 1 < n) {
                long m = merges.get(pairKey(c[i], c[i + 1]));
                if (m != LongLongMap.ABSENT) {
                    queue.add(((m >>> 32) << 32) | i);
                }
            }
        }
        int left = n;
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int pos = (int) top;
            int rank = (int) (top >>> 32);
            if (gone[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            long m = merges.get(pairKey(c[pos], c[right]));
            if (m == LongLongMap.ABSENT || (int) (m >>> 32) != rank) {
                continue; // an outdated entry: one side has changed since it was queued
            }
            c[pos] = (int) m;
            gone[right] = true;
            left--;
            next[pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = pos;
            }
            if (prev[pos] >= 0) {
                long pm = merges.get(pairKey(c[prev[pos]], c[pos]));
                if (pm != LongLongMap.ABSENT) {
                    queue.add(((pm >>> 32) << 32) | prev[pos]);
                }
            }
            if (next[pos] >= 0) {
                long nm = merges.get(pairKey(c[pos], c[next[pos]]));
                if (nm != LongLongMap.ABSENT) {
                    queue.add(((nm >>> 32) << 32) | pos);
                }
            }
        }
        int[] out = new int[left];
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (!gone[i]) {
                out[k++] = c[i];
            }
        }
        return out;
    }

    /** A min-heap of longs. */
    private static final class LongHeap {
        private long[] a;
        private int n;

        LongHeap(int capacity) {
            a = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return n == 0;
        }

        void add(long v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            int i = n++;
            while (i > 0) {
                int p = (i - 1) >>> 1;
                if (a[p] <= v) {
                    break;
                }
                a[i] = a[p];
                i = p;
            }
            a[i] = v;
        }

        long poll() {
            long top = a[0];
            long v = a[--n];
            int i = 0;
            while (true) {
                int l = 2 * i + 1;
                if (l >= n) {
                    break;
                }
                int r = l + 1;
                int m = r < n && a[r] < a[l] ? r : l;
                if (a[m] >= v) {
                    break;
                }
                a[i] = a[m];
                i = m;
            }
            if (n > 0) {
                a[i] = v;
            }
            return top;
        }
    }

    /** Open-addressing map from long keys to long values (no boxing: merges are looked up in the inner loop). */
    private static final class LongLongMap {
        static final long ABSENT = Long.MIN_VALUE;
        private final long[] keys;
        private final long[] values;
        private final boolean[] used;
        private final int mask;

        LongLongMap(int expected) {
            int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
            keys = new long[cap];
            values = new long[cap];
            used = new boolean[cap];
            mask = cap - 1;
        }

        private int slot(long k) {
            // murmur3's fmix64: every key bit reaches the low bits that pick the slot
            long h = k;
            h ^= h >>> 33;
            h *= 0xff51afd7ed558ccdL;
            h ^= h >>> 33;
            h *= 0xc4ceb9fe1a85ec53L;
            h ^= h >>> 33;
            return (int) h & mask;
        }

        void put(long k, long v) {
            int i = slot(k);
            while (used[i] && keys[i] != k) {
                i = (i + 1) & mask;
            }
            used[i] = true;
            keys[i] = k;
            values[i] = v;
        }

        long get(long k) {
            int i = slot(k);
            while (used[i]) {
                if (keys[i] == k) {
                    return values[i];
                }
                i = (i + 1) & mask;
            }
            return ABSENT;
        }
    }
}
