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
    /**
     * Whether the node sits at a UTF-8 character boundary and every token below it continues with complete,
     * valid UTF-8 characters only (so whole characters can be reasoned about instead of bytes).
     */
    final boolean[] utf8Clean;

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
        int[] parent = new int[nodes];
        int[] inByte = new int[nodes];
        parent[0] = -1;
        for (int e = 0; e < edgeParent.size(); e++) {
            parent[edgeChild.get(e)] = edgeParent.get(e);
            inByte[edgeChild.get(e)] = edgeByte.get(e);
        }
        tokenIds = new int[tokens];
        int[] put = Arrays.copyOf(tokenStart, nodes);
        for (int i = 0; i < tokens; i++) {
            tokenIds[put[endNode[i]]++] = tIds.get(i);
        }
        utf8Clean = new boolean[nodes];
        Arrays.fill(utf8Clean, true);
        int[] pathNode = new int[64];
        for (int i = 0; i < tokens; i++) {
            byte[] b = tokenBytes[tIds.get(i)];
            if (pathNode.length <= b.length) {
                pathNode = new int[b.length * 2 + 1];
            }
            // the path of the token: walk up from its end node
            int n = endNode[i];
            for (int d = b.length; d >= 0; d--) {
                pathNode[d] = n;
                n = d > 0 ? parent[n] : n;
            }
            boolean valid = validUtf8(b);
            for (int d = 0; d <= b.length; d++) {
                boolean boundary = d == b.length || (b[d] & 0xC0) != 0x80;
                if (!valid || !boundary) {
                    utf8Clean[pathNode[d]] = false;
                }
            }
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

    /** RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated characters. */
    static boolean validUtf8(byte[] b) {
        int i = 0;
        while (i < b.length) {
            int c = b[i] & 0xFF;
            int len;
            int lo = 0x80;
            int hi = 0xBF;
            if (c < 0x80) {
                i++;
                continue;
            } else if (c >= 0xC2 && c <= 0xDF) {
                len = 2;
            } else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                lo = c == 0xE0 ? 0xA0 : 0x80;
                hi = c == 0xED ? 0x9F : 0xBF;
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                lo = c == 0xF0 ? 0x90 : 0x80;
                hi = c == 0xF4 ? 0x8F : 0xBF;
            } else {
                return false;
            }
            if (i + len > b.length) {
                return false;
            }
            int c1 = b[i + 1] & 0xFF;
            if (c1 < lo || c1 > hi) {
                return false;
            }
            for (int k = 2; k < len; k++) {
                if ((b[i + k] & 0xC0) != 0x80) {
                    return false;
                }
            }
            i += len;
        }
        return true;
    }

    /**
     * The vocabulary of {@code tok}, built once per tokenizer.
     *
     * @param tok the tokenizer
     * @return the vocabulary
     */
    public static Vocabulary of(Tokenizer tok) {
        synchronized (CACHE) {
            return CACHE.computeIfAbsent(tok, Vocabulary::new);
        }
    }

    /** {@return the vocabulary size} */
    public int size() {
        return size;
    }

    /**
     * The bytes token {@code token} stands for in the output.
     *
     * @param token a token id
     * @return the bytes (do not modify)
     */
    public byte[] bytes(int token) {
        return tokenBytes[token];
    }

    /** {@return the number of nodes of the vocabulary's byte trie} */
    public int trieNodes() {
        return nodeCount;
    }

    /**
     * Whether {@code token} ends generation.
     *
     * @param token a token id
     * @return true for end-of-generation tokens
     */
    public boolean isEndOfGeneration(int token) {
        return Arrays.binarySearch(endOfGeneration, token) >= 0;
    }

    /** {@return the end-of-generation token ids} */
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
