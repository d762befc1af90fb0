package dev.metagen.meta.trace;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.metagen.core.Generation;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.Budget;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A generation's trace as one self-contained HTML page: the viewer's script and style inline, the trace embedded as
 * JSON data, and a Content-Security-Policy that lets nothing else run or load (no network, no inline handlers).
 */
public final class TracePage {
    /** Writes trace values as JSON; a NaN or infinite number (a log-probability of -inf) as a string, which JSON.parse reads. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
    private static final String SCRIPT = resource("viewer.js");
    private static final String STYLE = resource("viewer.css");

    private TracePage() {
    }

    /**
     * The viewer's script: defines {@code window.MetagenTrace.render(container, doc)} and renders {@code #trace-data} into {@code #trace-view}.
     *
     * @return the script
     */
    public static String script() {
        return SCRIPT;
    }

    /**
     * The viewer's style sheet.
     *
     * @return the style sheet
     */
    public static String style() {
        return STYLE;
    }

    /**
     * The page for one trace document (see {@link #document}; an eval results row or {@code generate --json} output
     * reads as well).
     *
     * @param title the page title
     * @param doc the trace document
     * @return the HTML page
     */
    public static String html(String title, Object doc) {
        String data = embedJson(doc);
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                + "<meta http-equiv=\"Content-Security-Policy\" content=\"" + contentSecurityPolicy(List.of(SCRIPT), List.of(STYLE), false) + "\">\n"
                + "<meta name=\"referrer\" content=\"no-referrer\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + escapeHtml(title) + "</title>\n"
                + "<style>" + STYLE + "</style>\n</head><body><main class=\"mt-page\"><div id=\"trace-view\"></div></main>\n"
                + "<script type=\"application/json\" id=\"trace-data\">" + data + "</script>\n"
                + "<script>" + SCRIPT + "</script>\n</body></html>\n";
    }

    /**
     * Writes {@link #html} to {@code file}.
     *
     * @param file where to write
     * @param title the page title
     * @param doc the trace document
     */
    public static void write(Path file, String title, Object doc) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.writeString(file, html(title, doc), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new MetagenException("cannot write " + file + ": " + MetagenException.describe(e));
        }
    }

    /**
     * The trace document the viewer reads: prompt, output, tokens with their texts and log-probabilities, cost,
     * budget (left out when unlimited) and the strategy's trace.
     *
     * @param spec      the strategy spec as given (JSON text), or null
     * @param budget    the run's budget, or null
     * @param tokenText the text of a token id (its own bytes), or null when there is no tokenizer
     * @param prompt the prompt
     * @param g the generation
     * @param model the model's name
     * @param strategy the strategy's name, or null
     * @return the document
     */
    public static Map<String, Object> document(String prompt, Generation g, String model, String strategy, String spec,
                                               Budget budget, IntFunction<String> tokenText) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("prompt", prompt);
        d.put("model", model);
        if (strategy != null) {
            d.put("strategy", strategy);
        }
        if (spec != null) {
            d.put("spec", spec);
        }
        d.put("text", g.text());
        d.put("finish_reason", g.finish().apiName());
        d.put("tokens", g.tokens());
        if (tokenText != null) {
            List<String> texts = new ArrayList<>(g.tokens().length);
            for (int t : g.tokens()) {
                texts.add(tokenText.apply(t));
            }
            d.put("token_texts", texts);
        }
        d.put("logprobs", g.logprobs());
        Map<String, Object> cost = new LinkedHashMap<>();
        cost.put("prompt_tokens", g.cost().promptTokens());
        cost.put("generated_tokens", g.cost().generatedTokens());
        cost.put("model_calls", g.cost().modelCalls());
        cost.put("tool_calls", g.cost().toolCalls());
        cost.put("wall_ms", g.cost().wall().toNanos() / 1e6);
        d.put("cost", cost);
        if (budget != null) {
            Map<String, Object> b = new LinkedHashMap<>();
            if (budget.generatedTokens() != Long.MAX_VALUE) {
                b.put("tokens", budget.generatedTokens());
            }
            if (budget.modelCalls() != Long.MAX_VALUE) {
                b.put("calls", budget.modelCalls());
            }
            if (budget.time() != null) {
                b.put("time_ms", budget.time().toMillis());
            }
            if (!b.isEmpty()) {
                d.put("budget", b);
            }
        }
        d.put("trace", g.trace());
        return d;
    }

    /**
     * {@code value} as JSON that is safe inside a {@code <script>} element of an HTML page: {@code <}, {@code >} and
     * {@code &} (which only occur inside JSON strings) are written as {@code \}{@code u} escapes, so no text of the
     * trace can close the element ({@code </script>}) or open a comment; U+2028 and U+2029 too, for older parsers.
     *
     * @param value a JSON value
     * @return the JSON text
     */
    public static String embedJson(Object value) {
        String json;
        try {
            json = JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new MetagenException("cannot write the trace as JSON: " + e.getOriginalMessage());
        }
        StringBuilder b = new StringBuilder(json.length() + 64);
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            switch (c) {
                case '<' -> b.append("\\u003c");
                case '>' -> b.append("\\u003e");
                case '&' -> b.append("\\u0026");
                case '\u2028' -> b.append("\\u2028");
                case '\u2029' -> b.append("\\u2029");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /**
     * A policy that runs only the given inline scripts and styles (by their SHA-256), loads nothing (no
     * {@code src}, no fonts, no images but {@code data:}), and with {@code connectSelf} lets scripts call back the
     * origin that served the page (the playground) and nothing else.
     *
     * @param scripts the inline scripts allowed
     * @param styles the inline styles allowed
     * @param connectSelf whether scripts may call the origin
     * @return the policy header value
     */
    public static String contentSecurityPolicy(List<String> scripts, List<String> styles, boolean connectSelf) {
        StringBuilder p = new StringBuilder("default-src 'none'; script-src");
        for (String s : scripts) {
            p.append(" 'sha256-").append(sha256(s)).append('\'');
        }
        p.append("; style-src");
        for (String s : styles) {
            p.append(" 'sha256-").append(sha256(s)).append('\'');
        }
        p.append("; img-src data:; connect-src ").append(connectSelf ? "'self'" : "'none'")
                .append("; base-uri 'none'; form-action 'none'");
        return p.toString();
    }

    /** Base64 SHA-256 of the UTF-8 bytes, as CSP hash sources take it. */
    static String sha256(String s) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Text for HTML element content and attribute values.
     *
     * @param s the text
     * @return the escaped text
     */
    public static String escapeHtml(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** A text resource of this package. */
    static String resource(String name) {
        try (InputStream in = TracePage.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name + " beside " + TracePage.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
