package dev.metagen.meta.tools;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * A user tool over HTTP: the call's arguments (a JSON object) are POSTed to a fixed URL and the response body is the
 * result. Only URLs the operator allows ({@link Policy}) can be named by a spec; a call is bounded in time and in
 * request and response bytes, and redirects are not followed (a redirect could leave the allowed URLs).
 */
public final class HttpTool implements Tool {
    /**
     * What the operator allows: URL prefixes ({@code https://tools.internal/api/}) or bare host names
     * ({@code tools.internal}, any http(s) URL on that host), and the limits of every call. Never set by a spec.
     *
     * @param allowed the allowed
     * @param timeout the timeout
     * @param maxRequestBytes the max request bytes
     * @param maxResponseBytes the max response bytes
     */
    public record Policy(List<String> allowed, Duration timeout, int maxRequestBytes, int maxResponseBytes) {
        /** No URL allowed (the default: a spec's http tool is refused). */
        public static final Policy NONE = new Policy(List.of(), Duration.ofSeconds(10), 65_536, 65_536);

        /** Checks the limits. */
        public Policy {
            allowed = List.copyOf(allowed);
            if (timeout.isNegative() || timeout.isZero() || maxRequestBytes < 1 || maxResponseBytes < 1) {
                throw new IllegalArgumentException("http tool limits must be positive");
            }
        }

        /**
         * The same limits with another allow-list.
         *
         * @param urls the URL prefixes http tools may call
         * @return the new policy
         */
        public Policy withAllowed(List<String> urls) {
            return new Policy(urls, timeout, maxRequestBytes, maxResponseBytes);
        }

        /**
         * Null when {@code url} may be called, else why not (one line).
         *
         * @param url the url
         * @return the refusal
         */
        public String refusal(String url) {
            URI u;
            try {
                u = new URI(url);
            } catch (java.net.URISyntaxException e) {
                return "not a valid URL: " + e.getReason();
            }
            String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") || u.getHost() == null) {
                return "only http and https URLs with a host can be called";
            }
            if (u.getUserInfo() != null) {
                return "URLs with user info are not allowed";
            }
            for (String a : allowed) {
                boolean isPrefix = a.contains("://");
                if (isPrefix ? url.startsWith(a) && !u.normalize().toString().contains("/../") : u.getHost().equalsIgnoreCase(a)) {
                    return null;
                }
            }
            return allowed.isEmpty() ? "the operator allows no http tools (--allow-tool-url)"
                    : "not among the URLs the operator allows (--allow-tool-url): " + allowed;
        }
    }

    private static final HttpClient CLIENT = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private final String name;
    private final URI url;
    private final Policy policy;

    /**
     * Creates the http tool.
     *
     * @throws IllegalArgumentException when the policy does not allow {@code url}
     *
     * @param name the name
     * @param url the url
     * @param policy the policy
     */
    public HttpTool(String name, String url, Policy policy) {
        String why = policy.refusal(url);
        if (why != null) {
            throw new IllegalArgumentException(url + ": " + why);
        }
        this.name = name;
        this.url = URI.create(url);
        this.policy = policy;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public ToolResult run(String input) {
        byte[] body = input.getBytes(StandardCharsets.UTF_8);
        if (body.length > policy.maxRequestBytes()) {
            return ToolResult.failed("the arguments are " + body.length + " bytes, more than the limit of " + policy.maxRequestBytes());
        }
        HttpRequest req = HttpRequest.newBuilder(url).timeout(policy.timeout()).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        try {
            HttpResponse<InputStream> r = CLIENT.send(req, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] out = in.readNBytes(policy.maxResponseBytes() + 1);
                if (out.length > policy.maxResponseBytes()) {
                    return ToolResult.failed("the response is longer than the limit of " + policy.maxResponseBytes() + " bytes");
                }
                String text = new String(out, StandardCharsets.UTF_8);
                if (r.statusCode() / 100 != 2) {
                    return ToolResult.failed("HTTP " + r.statusCode() + (text.isBlank() ? "" : ": " + text.lines().findFirst().orElse("")));
                }
                return ToolResult.ok(text);
            }
        } catch (java.net.http.HttpTimeoutException e) {
            return ToolResult.failed("no answer within " + policy.timeout().toMillis() + " ms");
        } catch (IOException e) {
            return ToolResult.failed("cannot call " + url + ": " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the run was cancelled: Scope.tool reports it
            return ToolResult.failed("interrupted");
        }
    }
}
