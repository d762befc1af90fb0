package dev.metagen.eval.task;

/** The unbiased pass@k estimator of Chen et al. (2021): {@code 1 - C(n-c, k) / C(n, k)}, computed as a stable product. */
public final class PassAtK {
    private PassAtK() {
    }

    /** pass@k from {@code n} samples of which {@code c} are correct ({@code k <= n}). */
    public static double estimate(int n, int c, int k) {
        if (k < 1 || k > n || c < 0 || c > n) {
            throw new IllegalArgumentException("pass@k needs 1 <= k <= n and 0 <= c <= n, got n=" + n + " c=" + c + " k=" + k);
        }
        if (n - c < k) {
            return 1.0;
        }
        double fail = 1.0; // prod_{i=n-c+1}^{n} (1 - k / i)
        for (int i = n - c + 1; i <= n; i++) {
            fail *= 1.0 - (double) k / i;
        }
        return 1.0 - fail;
    }
}
