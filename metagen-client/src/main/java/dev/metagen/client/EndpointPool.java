package dev.metagen.client;

import java.net.URI;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The servers of a {@link RemoteGenerator}: which one a call goes to (round-robin or fewest outstanding requests,
 * a retry preferring another), which are skipped for a while after failing, and how long a retry waits
 * (exponential backoff with jitter, or the server's Retry-After).
 */
final class EndpointPool {
    /** One server: its base URI, requests in flight, and until when it is skipped after a failure. */
    static final class Endpoint {
        final URI base;
        final AtomicLong outstanding = new AtomicLong();
        volatile long failedUntilNanos;
        final AtomicLong failures = new AtomicLong();
        final AtomicLong calls = new AtomicLong();

        Endpoint(URI base) {
            this.base = base;
        }

        boolean healthy(long now) {
            return now - failedUntilNanos >= 0;
        }
    }

    private final List<Endpoint> endpoints;
    private final RemoteGenerator.Balancing balancing;
    private final Duration failureCooldown;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final AtomicLong turn = new AtomicLong();

    EndpointPool(List<URI> bases, RemoteGenerator.Balancing balancing, Duration failureCooldown, Duration initialBackoff,
                 Duration maxBackoff) {
        List<Endpoint> eps = new ArrayList<>();
        long now = System.nanoTime();
        for (URI u : bases) {
            Endpoint e = new Endpoint(u);
            e.failedUntilNanos = now;
            eps.add(e);
        }
        this.endpoints = List.copyOf(eps);
        this.balancing = balancing;
        this.failureCooldown = failureCooldown;
        this.initialBackoff = initialBackoff;
        this.maxBackoff = maxBackoff;
    }

    Endpoint pick(Endpoint previous) {
        long now = System.nanoTime();
        List<Endpoint> healthy = new ArrayList<>();
        for (Endpoint e : endpoints) {
            if (e.healthy(now)) {
                healthy.add(e);
            }
        }
        // a retry prefers another server; when every server is failing, try them all anyway
        if (healthy.size() > 1 && previous != null) {
            healthy.remove(previous);
        }
        List<Endpoint> pool = healthy.isEmpty() ? endpoints : healthy;
        long t = turn.getAndIncrement();
        if (balancing == RemoteGenerator.Balancing.ROUND_ROBIN || pool.size() == 1) {
            return pool.get((int) Math.floorMod(t, (long) pool.size()));
        }
        Endpoint best = null;
        for (int i = 0; i < pool.size(); i++) {
            Endpoint e = pool.get((int) Math.floorMod(t + i, (long) pool.size())); // ties go round-robin
            if (best == null || e.outstanding.get() < best.outstanding.get()) {
                best = e;
            }
        }
        return best;
    }

    void markFailed(Endpoint ep, long retryAfterMs) {
        ep.failures.incrementAndGet();
        long ms = Math.max(failureCooldown.toMillis(), retryAfterMs);
        ep.failedUntilNanos = System.nanoTime() + ms * 1_000_000;
    }

    long backoff(int attempt, long retryAfterMs) {
        if (retryAfterMs >= 0) {
            return Math.min(retryAfterMs, maxBackoff.toMillis());
        }
        long base = initialBackoff.toMillis() << Math.min(attempt - 1, 20);
        long capped = Math.min(base, maxBackoff.toMillis());
        return capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1); // jitter: retries do not arrive together
    }

    /** Retry-After as seconds or an HTTP date; -1 when absent or unreadable. */
    static long retryAfter(String v) {
        if (v == null || v.isBlank()) {
            return -1;
        }
        try {
            return Math.max(0, (long) (Double.parseDouble(v.strip()) * 1000));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(v.strip(), DateTimeFormatter.RFC_1123_DATE_TIME);
                return Math.max(0, when.toInstant().toEpochMilli() - System.currentTimeMillis());
            } catch (RuntimeException e2) {
                return -1;
            }
        }
    }

    List<Long> callsPerEndpoint() {
        return endpoints.stream().map(e -> e.calls.get()).toList();
    }
}
