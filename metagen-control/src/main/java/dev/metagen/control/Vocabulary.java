package dev.metagen.control;

import dev.metagen.core.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A tokenizer's vocabulary as a byte trie (the precomputation of Outlines/llguidance-style mask engines):
 * walking it against an automaton visits each shared token prefix once. Tokens with no output bytes
 * (control tokens) are left out; end-of-generation ids are kept aside.
 */
public final class Vocabulary {
    private static final Map<Tokenizer, Vocabulary> CACHE = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    final int size;
    final byte[][] tokenBytes;
    final int[] endOfGeneration;
    // trie in DFS order: node i has children childStart[i] .. childStart[i] + childCount[i] - 1 in childByte/childNode
    final int[] childStart;
    final int[] childCount;
    final int[] childByte;
    final int[] childNode;
    final int[] tokenStart;  // tokens ending at node i: tokenIds[tokenStart[i] .. tokenStart[i + 1])
    final int[] tokenIds;
    final int nodeCount;
    /** Node ids are in DFS preorder: node n's subtree is n .. n + subtreeSize[n] - 1, its tokens one range. */
    final int[] subtreeSize;
    /** The bytes on edges strictly below each node (4 words per node). */
    final long[] subtreeBytes;

    private Vocabulary(Tokenizer tok) {
        size = tok.vocabSize();
        tokenBytes = new byte[size][];
        List<Integer> eog = new ArrayList<>();
        for (int id = 0; id < size; id++) {
            tokenBytes[id] = tok.tokenBytes(id);
            if (tok.special().isEndOfGeneration(id)) {
                eog.add(id);
            }
        }
        endOfGeneration = eog.stream().mapToInt(Integer::intValue).sorted().toArray();
        // sort token ids by their bytes: a trie's DFS order is exactly the sorted order
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(tokenBytes[a], tokenBytes[b]));
        // build with growable arrays: node 0 is the root (empty prefix)
        IntList tIds = new IntList(), ends = new IntList();
        IntList edgeParent = new IntList(), edgeByte = new IntList(), edgeChild = new IntList();
        int nodes = 1;
        byte[] prev = new byte[0];
        int[] pathNodes = new int[1024];
        pathNodes[0] = 0;
        for (int k = 0; k < size; k++) {
            int id = order[k];
            byte[] b = tokenBytes[id];
            if (b.length == 0) {
                continue;
            }
            int common = Arrays.mismatch(prev, b);
            if (common < 0) {
                common = b.length;
            }
            if (pathNodes.length <= b.length) {
                pathNodes = Arrays.copyOf(pathNodes, b.length * 2 + 1);
            }
            for (int d = common; d < b.length; d++) {
                int child = nodes++;
                edgeParent.add(pathNodes[d]);
                edgeByte.add(b[d] & 0xFF);
                edgeChild.add(child);
                pathNodes[d + 1] = child;
            }
            tIds.add(id);
            ends.add(pathNodes[b.length]);
            prev = b;
        }
        nodeCount = nodes;
        // children of each node, in byte order (edges were created in sorted order)
        childStart = new int[nodes];
        childCount = new int[nodes];
        for (int e = 0; e < edgeParent.size(); e++) {
            childCount[edgeParent.get(e)]++;
        }
        int acc = 0;
        for (int i = 0; i < nodes; i++) {
            childStart[i] = acc;
            acc += childCount[i];
        }
        childByte = new int[acc];
        childNode = new int[acc];
        int[] fill = new int[nodes];
        for (int e = 0; e < edgeParent.size(); e++) {
            int p = edgeParent.get(e);
            int at = childStart[p] + fill[p]++;
            childByte[at] = edgeByte.get(e);
            childNode[at] = edgeChild.get(e);
        }
        // tokens grouped by end node
        int tokens = tIds.size();
        int[] endNode = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            endNode[i] = ends.get(i);
        }
        tokenStart = new int[nodes + 1];
        for (int i = 0; i < tokens; i++) {
            tokenStart[endNode[i] + 1]++;
        }
        for (int i = 0; i < nodes; i++) {
            tokenStart[i + 1] += tokenStart[i];
        }
        tokenIds = new int[tokens];
        int[] put = Arrays.copyOf(tokenStart, nodes);
        for (int i = 0; i < tokens; i++) {
            tokenIds[put[endNode[i]]++] = tIds.get(i);
        }
        // subtree sizes and byte sets, children before parents (child ids are larger in preorder)
        int[] parent = new int[nodes];
        int[] inByte = new int[nodes];
        parent[0] = -1;
        for (int e = 0; e < edgeParent.size(); e++) {
            parent[edgeChild.get(e)] = edgeParent.get(e);
            inByte[edgeChild.get(e)] = edgeByte.get(e);
        }
        subtreeSize = new int[nodes];
        subtreeBytes = new long[nodes * 4];
        for (int n = nodes - 1; n >= 0; n--) {
            subtreeSize[n] += 1;
            int p = parent[n];
            if (p >= 0) {
                subtreeSize[p] += subtreeSize[n];
                for (int w = 0; w < 4; w++) {
                    subtreeBytes[p * 4 + w] |= subtreeBytes[n * 4 + w];
                }
                subtreeBytes[p * 4 + (inByte[n] >>> 6)] |= 1L << (inByte[n] & 63);
            }
        }
    }

    /** The vocabulary of {@code tok}, built once per tokenizer. */
    public static Vocabulary of(Tokenizer tok) {
        synchronized (CACHE) {
            return CACHE.computeIfAbsent(tok, Vocabulary::new);
        }
    }

    public int size() {
        return size;
    }

    public byte[] bytes(int token) {
        return tokenBytes[token];
    }

    public int trieNodes() {
        return nodeCount;
    }

    public boolean isEndOfGeneration(int token) {
        return Arrays.binarySearch(endOfGeneration, token) >= 0;
    }

    public int[] endOfGeneration() {
        return endOfGeneration.clone();
    }

    static final class IntList {
        int[] a = new int[1024];
        int n;

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int get(int i) {
            return a[i];
        }

        int size() {
            return n;
        }
    }
}
