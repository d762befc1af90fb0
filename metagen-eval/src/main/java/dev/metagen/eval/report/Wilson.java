package dev.metagen.eval.report;

/** The Wilson score interval for a binomial proportion (Wilson, 1927), well behaved at 0 and 1 and for small n. */
public record Wilson(double low, double high) {
    public static final double Z95 = 1.959963984540054;

    public static Wilson of(long successes, long n, double z) {
        if (n == 0) {
            return new Wilson(0, 1);
        }
        double p = (double) successes / n;
        double z2 = z * z;
        double denom = 1 + z2 / n;
        double centre = (p + z2 / (2 * n)) / denom;
        double half = z * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;
        // the exact ends where the estimate is 0 or 1 (the formula gives them up to rounding)
        return new Wilson(successes == 0 ? 0 : Math.max(0, centre - half), successes == n ? 1 : Math.min(1, centre + half));
    }
}
