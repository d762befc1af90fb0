package dev.metagen.eval.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.trace.TracePage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code report.html}: one self-contained page (the SVG plots inline, the PNGs beside it), the table of every
 * strategy x budget point, the sample reuse, and a few solved and failed examples per strategy at its largest budget
 * with their outputs and traces, and every run linked to its trace page ({@code traces/run-NNNNN.html}, the
 * {@link TracePage} viewer); readable from the file system without a server.
 */
public final class HtmlReport {
    static final int EXAMPLES = 2;
    static final int TRACE_CHARS = 6000;
    /** The folder of the per-run trace pages, beside report.html. */
    public static final String TRACES = "traces";
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private HtmlReport() {
    }

    public static void write(Path dir, String title, Map<String, Object> run, Summary summary, List<JsonNode> rows) {
        List<String> pages = writeTracePages(dir, title, rows);
        Map<JsonNode, String> pageOf = new java.util.IdentityHashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            pageOf.put(rows.get(i), pages.get(i));
        }
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title)).append("</title>\n");
        h.append("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                + "td:first-child,th:first-child{text-align:left}pre{white-space:pre-wrap;background:#f6f6f6;padding:6px;"
                + "max-height:30em;overflow:auto}.ok{color:#070}.bad{color:#a00}figure{margin:1em 0}</style></head><body>\n");
        h.append("<h1>").append(esc(title)).append("</h1>\n");
        h.append("<p>").append(esc(describe(run))).append("</p>\n");
        h.append("<h2>Plots</h2>\n");
        for (String plot : List.of(Plots.ACCURACY, Plots.FRONTIER)) {
            h.append("<figure id=\"plot-").append(plot).append("\">").append(inlineSvg(dir.resolve(plot + ".svg")))
                    .append("<figcaption><a href=\"").append(plot).append(".png\">").append(plot).append(".png</a> · <a href=\"")
                    .append(plot).append(".svg\">").append(plot).append(".svg</a></figcaption></figure>\n");
        }
        h.append("<h2>Results</h2>\n<table id=\"results\"><thead><tr><th>strategy</th><th>budget</th><th>problems</th>"
                + "<th>accuracy</th><th>95% CI (Wilson)</th><th>subsampled acc.</th><th>gen. tokens</th><th>prompt tokens</th><th>model calls</th>"
                + "<th>tool calls</th><th>wall ms</th><th>spent gen. tokens</th><th>pass@k</th><th>errors</th></tr></thead><tbody>\n");
        for (Point p : summary.points()) {
            h.append("<tr><td>").append(esc(p.strategy())).append("</td><td>").append(p.budget()).append("</td><td>")
                    .append(p.problems()).append("</td><td>").append(f3(p.accuracy())).append("</td><td>[")
                    .append(f3(p.ci().low())).append(", ").append(f3(p.ci().high())).append("]</td><td>")
                    .append(p.subsampledAccuracy() == null ? "" : f3(p.subsampledAccuracy())).append("</td><td>")
                    .append(f1(p.meanGeneratedTokens())).append("</td><td>").append(f1(p.meanPromptTokens())).append("</td><td>")
                    .append(f1(p.meanModelCalls())).append("</td><td>").append(f1(p.meanToolCalls())).append("</td><td>")
                    .append(f1(p.meanWallMs())).append("</td><td>").append(f1(p.meanSpentGeneratedTokens())).append("</td><td>");
            List<String> pk = new ArrayList<>();
            p.passAtK().forEach((k, v) -> pk.add("@" + k + " " + f3(v)));
            h.append(esc(String.join(", ", pk))).append("</td><td>").append(p.errors()).append("</td></tr>\n");
        }
        h.append("</tbody></table>\n");
        h.append("<p id=\"reuse\">Sample reuse: the results report ").append(summary.reportedGeneratedTokens())
                .append(" generated tokens; ").append(summary.spentGeneratedTokens()).append(" were computed (")
                .append(String.format(Locale.ROOT, "%.1f", 100 * summary.saving())).append("% saved).</p>\n");
        h.append("<h2>Examples</h2>\n");
        for (Map.Entry<String, List<JsonNode>> e : largestBudgetRows(rows).entrySet()) {
            h.append("<h3>").append(esc(e.getKey())).append("</h3>\n");
            int solved = 0;
            int failed = 0;
            for (JsonNode r : e.getValue()) {
                boolean ok = r.path("correct").asBoolean();
                if (ok ? solved++ >= EXAMPLES : failed++ >= EXAMPLES) {
                    continue;
                }
                h.append("<details class=\"example ").append(ok ? "solved" : "failed").append("\"><summary><span class=\"")
                        .append(ok ? "ok\">solved" : "bad\">failed").append("</span> problem ").append(esc(r.path("problem").asText()))
                        .append(" (budget ").append(r.path("budget").asInt()).append("): ").append(esc(r.path("detail").asText()))
                        .append("</summary>\n<p>Prompt</p><pre>").append(esc(r.path("prompt").asText()))
                        .append("</pre>\n<p>Reference: ").append(esc(r.path("reference").asText("")))
                        .append("; extracted answer: ").append(esc(r.path("answer").asText("")))
                        .append("</p>\n<p>Output</p><pre>").append(esc(r.path("output").asText()))
                        .append("</pre>\n<p>Trace (<a href=\"").append(pageOf.get(r)).append("\">trace page</a>)</p><pre>")
                        .append(esc(trace(r.path("trace")))).append("</pre></details>\n");
            }
        }
        h.append("<h2>Runs</h2>\n<table id=\"runs\"><thead><tr><th>strategy</th><th>budget</th><th>problem</th><th>result</th>"
                + "<th>gen. tokens</th><th>model calls</th><th>trace</th></tr></thead><tbody>\n");
        for (int i = 0; i < rows.size(); i++) {
            JsonNode r = rows.get(i);
            boolean ok = r.path("correct").asBoolean();
            h.append("<tr class=\"run\"><td>").append(esc(r.path("strategy").asText())).append("</td><td>").append(r.path("budget").asInt())
                    .append("</td><td>").append(esc(r.path("problem").asText())).append("</td><td class=\"").append(ok ? "ok\">solved" : "bad\">failed")
                    .append("</td><td>").append(r.path("cost").path("generated_tokens").asLong()).append("</td><td>")
                    .append(r.path("cost").path("model_calls").asLong()).append("</td><td><a class=\"trace-link\" href=\"")
                    .append(pages.get(i)).append("\">trace</a></td></tr>\n");
        }
        h.append("</tbody></table>\n");
        h.append("</body></html>\n");
        try {
            Files.writeString(dir.resolve("report.html"), h.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new MetagenException("cannot write " + dir.resolve("report.html") + ": " + MetagenException.describe(e));
        }
    }

    /** One trace page per run, in the order of the rows; returns their paths relative to {@code dir}. */
    static List<String> writeTracePages(Path dir, String title, List<JsonNode> rows) {
        List<String> out = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            JsonNode r = rows.get(i);
            String name = TRACES + "/" + String.format(Locale.ROOT, "run-%05d.html", i);
            TracePage.write(dir.resolve(name), title + " · " + r.path("strategy").asText() + " · budget " + r.path("budget").asInt()
                    + " · problem " + r.path("problem").asText(), r);
            out.add(name);
        }
        return out;
    }

    private static String describe(Map<String, Object> run) {
        List<String> parts = new ArrayList<>();
        for (String k : List.of("task", "dataset", "model", "problems", "budgets", "seed", "max_tokens", "temperature")) {
            if (run.get(k) != null) {
                parts.add(k + ": " + run.get(k));
            }
        }
        return String.join(" · ", parts);
    }

    private static Map<String, List<JsonNode>> largestBudgetRows(List<JsonNode> rows) {
        Map<String, Integer> max = new LinkedHashMap<>();
        for (JsonNode r : rows) {
            max.merge(r.path("strategy").asText(), r.path("budget").asInt(), Math::max);
        }
        Map<String, List<JsonNode>> out = new LinkedHashMap<>();
        for (JsonNode r : rows) {
            String s = r.path("strategy").asText();
            if (r.path("budget").asInt() == max.get(s)) {
                out.computeIfAbsent(s, k -> new ArrayList<>()).add(r);
            }
        }
        return out;
    }

    private static String trace(JsonNode t) {
        try {
            String s = PRETTY.writeValueAsString(t);
            return s.length() > TRACE_CHARS ? s.substring(0, TRACE_CHARS) + "\n... (" + (s.length() - TRACE_CHARS)
                    + " more characters in results.jsonl)" : s;
        } catch (JsonProcessingException e) {
            return t.toString();
        }
    }

    private static String inlineSvg(Path svg) {
        try {
            String s = Files.readString(svg, StandardCharsets.UTF_8);
            int i = s.indexOf("<svg");
            return i < 0 ? "" : s.substring(i);
        } catch (IOException e) {
            throw new MetagenException("cannot read " + svg + ": " + MetagenException.describe(e));
        }
    }

    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
