package dev.metagen.meta.search;

import java.util.Comparator;
import java.util.List;

/** Choosing the answer of a search: the best-scoring complete path, else the best-scoring path of any kind. */
final class SearchResult {
    private SearchResult() {
    }

    static Node best(List<Node> nodes) {
        Comparator<Node> byScore = Comparator.comparingDouble(n -> Double.isNaN(n.score) ? Double.NEGATIVE_INFINITY : n.score);
        Node best = null;
        for (Node n : nodes) {
            if (n.parent != null && n.terminal && (best == null || byScore.compare(n, best) > 0)) {
                best = n;
            }
        }
        if (best != null) {
            return best;
        }
        for (Node n : nodes) {
            if (n.parent != null && (best == null || byScore.compare(n, best) > 0)) {
                best = n;
            }
        }
        return best;
    }
}
