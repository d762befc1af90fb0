package dev.metagen.engine.model;

import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Plans the passes of a {@link TransformerModel}: the requests the {@link BatchingScheduler} merged, checked and
 * concatenated; states whose prompts share a first block split into a leader pass and a follower pass (a shared
 * prompt computed once); prompt blocks adopted from the {@link PrefixCache}; the remaining tokens flattened into
 * rows and run through the {@link ForwardPass} in chunks of {@value TransformerModel#MAX_BATCH}; full blocks offered
 * back to the prefix cache.
 */
final class BatchPlanner {
    private final TransformerModel model;
    private final ModelConfig config;
    private final int contextLength;
    private final PrefixCache prefixCache;
    private final boolean prefixCacheEnabled;
    private final ForwardPass pass;
    private final AtomicLong rowsComputed = new AtomicLong();

    BatchPlanner(TransformerModel model, ModelConfig config, int contextLength, PrefixCache prefixCache,
                 boolean prefixCacheEnabled, ForwardPass pass) {
        this.model = model;
        this.config = config;
        this.contextLength = contextLength;
        this.prefixCache = prefixCache;
        this.prefixCacheEnabled = prefixCacheEnabled;
        this.pass = pass;
    }

    /** Token positions run through the layers (see {@link TransformerModel#rowsComputed}). */
    long rowsComputed() {
        return rowsComputed.get();
    }

    /** One pass for a batch of requests (the scheduler's pass function): their states and tokens, concatenated. */
    synchronized List<List<Logits>> forwardBatch(List<BatchingScheduler.Request> requests) {
        List<ModelState> states = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        List<Boolean> all = new ArrayList<>();
        for (BatchingScheduler.Request q : requests) {
            if (q.states().size() != q.tokens().size()) {
                throw new MetagenException("forward: " + q.states().size() + " states but " + q.tokens().size()
                        + " token arrays");
            }
            states.addAll(q.states());
            tokens.addAll(q.tokens());
            for (int i = 0; i < q.states().size(); i++) {
                all.add(q.allPositions());
            }
        }
        boolean[] allRows = new boolean[all.size()];
        for (int i = 0; i < allRows.length; i++) {
            allRows[i] = all.get(i);
        }
        float[][][] logits = forwardSharingPrompts(states, tokens, allRows);
        List<List<Logits>> out = new ArrayList<>(requests.size());
        int i = 0;
        for (BatchingScheduler.Request q : requests) {
            List<Logits> mine = new ArrayList<>();
            for (int j = 0; j < q.states().size(); j++, i++) {
                if (q.allPositions()) {
                    for (float[] l : logits[i]) {
                        mine.add(new Logits(l));
                    }
                } else {
                    mine.add(new Logits(logits[i][logits[i].length - 1]));
                }
            }
            out.add(mine);
        }
        return out;
    }

    /**
     * The forward, in two passes when new states of the batch start with the same full block of prompt (the samples
     * of best-of-N arriving together): the first of each such group runs with everything else, and its blocks,
     * now in the prefix cache, serve the others in a second, short pass, so a shared prompt is computed once.
     * If the second pass fails, the first is rolled back, keeping the whole call all-or-nothing.
     */
    private float[][][] forwardSharingPrompts(List<ModelState> states, List<int[]> tokens, boolean[] allRows) {
        int n = states.size();
        boolean[] follower = new boolean[n];
        boolean any = false;
        Set<ModelState> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
        distinct.addAll(states);
        if (prefixCacheEnabled && n > 1 && distinct.size() == n) {
            java.util.Set<java.util.List<Integer>> firsts = new java.util.HashSet<>();
            for (int i = 0; i < n; i++) {
                int[] t = tokens.get(i);
                if (!(states.get(i) instanceof KvState s) || s.length() != 0 || allRows[i] || s.hiddenSink != null || t == null
                        || t.length <= KvBlockPool.BLOCK) {
                    continue;
                }
                List<Integer> key = Arrays.stream(t, 0, KvBlockPool.BLOCK).boxed().toList();
                if (!firsts.add(key)) {
                    follower[i] = true;
                    any = true;
                }
            }
        }
        if (!any) {
            return forwardRows(states, tokens, allRows);
        }
        List<ModelState> s1 = new ArrayList<>();
        List<int[]> t1 = new ArrayList<>();
        List<ModelState> s2 = new ArrayList<>();
        List<int[]> t2 = new ArrayList<>();
        List<Boolean> a1 = new ArrayList<>();
        List<Boolean> a2 = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (follower[i] ? s2 : s1).add(states.get(i));
            (follower[i] ? t2 : t1).add(tokens.get(i));
            (follower[i] ? a2 : a1).add(allRows[i]);
        }
        int[] before = new int[s1.size()];
        float[][] hidden = new float[s1.size()][];
        for (int i = 0; i < s1.size(); i++) {
            before[i] = s1.get(i).length();
            hidden[i] = ((KvState) s1.get(i)).lastHidden;
        }
        float[][][] r1 = forwardRows(s1, t1, toArray(a1));
        float[][][] r2;
        try {
            r2 = forwardRows(s2, t2, toArray(a2));
        } catch (RuntimeException e) {
            for (int i = 0; i < s1.size(); i++) {
                s1.get(i).truncate(before[i]);
                ((KvState) s1.get(i)).lastHidden = hidden[i];
            }
            throw e;
        }
        float[][][] out = new float[n][][];
        for (int i = 0, j = 0, k = 0; i < n; i++) {
            out[i] = follower[i] ? r2[k++] : r1[j++];
        }
        return out;
    }

    private static boolean[] toArray(List<Boolean> list) {
        boolean[] a = new boolean[list.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = list.get(i);
        }
        return a;
    }

    /**
     * The forward pass: per state, the logits of every new position when {@code allRows[i]}, else of its last one
     * (only the last entry of that state's array is filled). A new state whose first tokens start with full blocks
     * in the prefix cache adopts them and computes only the rest. Everything is checked and every KV block
     * obtained before anything is computed, so a failure leaves the states as they were.
     */
    private float[][][] forwardRows(List<ModelState> states, List<int[]> tokens, boolean[] allRows) {
        model.checkOpen();
        if (states.size() != tokens.size()) {
            throw new MetagenException("forward: " + states.size() + " states but " + tokens.size() + " token arrays");
        }
        int n = states.size();
        KvState[] st = new KvState[n];
        Set<KvState> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int total = 0;
        for (int i = 0; i < n; i++) {
            st[i] = model.own(states.get(i), i);
            if (!seen.add(st[i])) {
                throw new MetagenException("forward: state " + i + " appears twice in one batch");
            }
            int[] t = tokens.get(i);
            if (t == null || t.length == 0) {
                throw new MetagenException(allRows[i] ? "forwardAll: no tokens given"
                        : "forward: state " + i + " got no tokens");
            }
            for (int id : t) {
                if (id < 0 || id >= config.vocab()) {
                    throw new MetagenException("forward: token id " + id + " out of range [0, " + config.vocab() + ")");
                }
            }
            if ((long) st[i].length() + t.length > contextLength) {
                throw new MetagenException("context length " + contextLength + " exceeded: the sequence has "
                        + st[i].length() + " tokens and " + t.length + " more were given");
            }
            total += t.length;
        }
        int[][] toks = new int[n][];
        int[] skipped = new int[n];
        List<KvState> adopted = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                int[] t = tokens.get(i);
                toks[i] = t;
                // a state that collects every row's hidden state (a score head) computes every row
                if (prefixCacheEnabled && !allRows[i] && st[i].hiddenSink == null && st[i].length() == 0 && t.length > KvBlockPool.BLOCK) {
                    List<KvBlock> hit = prefixCache.lookup(t, (t.length - 1) / KvBlockPool.BLOCK);
                    if (!hit.isEmpty()) {
                        st[i].adopt(hit, t);
                        adopted.add(st[i]);
                        skipped[i] = hit.size() * KvBlockPool.BLOCK;
                        toks[i] = Arrays.copyOfRange(t, skipped[i], t.length);
                        total -= skipped[i];
                    }
                }
            }
            for (int i = 0; i < n; i++) {
                st[i].ensureCapacity(st[i].length() + toks[i].length);
            }
        } catch (RuntimeException e) {
            for (KvState s : adopted) {
                s.truncate(0);
            }
            throw e;
        }
        // flatten into rows (state, position, token), state by state in order
        int[] rowState = new int[total];
        int[] rowPos = new int[total];
        int[] rowToken = new int[total];
        int r = 0;
        for (int i = 0; i < n; i++) {
            int[] t = toks[i];
            for (int j = 0; j < t.length; j++, r++) {
                rowState[r] = i;
                rowPos[r] = st[i].length() + j;
                rowToken[r] = t[j];
            }
        }
        float[][][] logits = new float[n][][];
        int[] rowIndex = new int[total];
        for (int i = 0, row = 0; i < n; i++) {
            logits[i] = new float[allRows[i] ? toks[i].length : 1][];
            for (int j = 0; j < toks[i].length; j++, row++) {
                rowIndex[row] = allRows[i] ? j : 0;
            }
        }
        rowsComputed.addAndGet(total);
        for (int from = 0; from < total; from += TransformerModel.MAX_BATCH) {
            int to = Math.min(total, from + TransformerModel.MAX_BATCH);
            pass.runChunk(st, rowState, rowPos, rowToken, from, to, allRows, logits, rowIndex);
        }
        if (prefixCacheEnabled) {
            for (KvState s : st) {
                int full = s.length() / KvBlockPool.BLOCK;
                if (full > s.cachedBlocks) {
                    prefixCache.insert(s.tokenArray(), s.table, full);
                    s.cachedBlocks = full;
                }
            }
        }
        return logits;
    }
}
