package dev.metagen.meta.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.testing.HeadlessChromium;
import dev.metagen.meta.Budget;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The trace page: its JSON embedding cannot be broken out of, and in headless Chromium it draws the tree (nodes,
 * edges, the chosen path), collapses subtrees, colours tokens by probability, lists candidates and votes, shows
 * budget use, runs under its own Content-Security-Policy, and paints a 2,000-node tree.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TracePageTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path SHOTS = Path.of("target", "trace-viewer");
    static final String HOSTILE = "</script><img src=x onerror=\"window.__pwned=1\"><!-- <script>window.__pwned=2</script>";
    /** Log-probabilities with known probabilities: 1, 1/2, 1/4, 1/10, 0.01. */
    static final double[] LOGPROBS = {0, Math.log(0.5), Math.log(0.25), Math.log(0.1), Math.log(0.01)};

    HeadlessChromium chromium;

    @BeforeAll
    void browser() throws Exception {
        if (HeadlessChromium.available()) {
            chromium = HeadlessChromium.start(1280, 1000);
        }
    }

    @AfterAll
    void close() throws Exception {
        if (chromium != null) {
            chromium.close();
        }
    }

    void needChromium() {
        assumeTrue(chromium != null, "needs Debian's chromium (./run-tests installs it)");
    }

    static Map<String, Object> node(int id, int parent, int depth, String step, Double score, int visits, double value, boolean terminal) {
        Map<String, Object> n = new LinkedHashMap<>();
        n.put("id", id);
        n.put("parent", parent);
        n.put("depth", depth);
        n.put("step", step);
        n.put("score", score);
        n.put("visits", visits);
        n.put("value", value);
        n.put("prior", 1.0);
        n.put("terminal", terminal);
        n.put("tokens", depth * 4);
        return n;
    }

    /**
     * A small MCTS-shaped trace: root 0 with children 1, 2; 1 has 3, 4; 2 has 5, 6; 6 has 7. Chosen node 7, so the
     * chosen path is 0-2-6-7. Candidates with votes, and the chosen candidate's tokens with known probabilities.
     */
    static Map<String, Object> smallDoc(String prompt) {
        List<Map<String, Object>> nodes = List.of(
                node(0, -1, 0, "", null, 6, 0.5, false),
                node(1, 0, 1, "a", -1.5, 2, 0.2, false),
                node(2, 0, 1, "b " + HOSTILE, -0.5, 4, 0.7, false),
                node(3, 1, 2, "c", -2.0, 1, 0.1, true),
                node(4, 1, 2, "d", -1.0, 1, 0.3, true),
                node(5, 2, 2, "e", -0.9, 1, 0.4, true),
                node(6, 2, 2, "f", -0.2, 3, 0.9, false),
                node(7, 6, 3, "g", -0.1, 2, 0.95, true));
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("strategy", "mcts");
        trace.put("iterations", 6);
        trace.put("tree", Map.of("nodes", nodes));
        trace.put("chosen_node", 7);
        trace.put("chosen_value", 0.95);
        Map<String, Object> vote = new LinkedHashMap<>();
        vote.put("strategy", "majority_vote");
        vote.put("n", 3);
        vote.put("candidates", List.of(
                Map.of("index", 0, "text", "x 42", "generated_tokens", 2, "answer", "42"),
                Map.of("index", 1, "text", "y 7 " + HOSTILE, "generated_tokens", 3, "answer", "7"),
                Map.of("index", 2, "text", "z 42", "generated_tokens", 2, "answer", "42")));
        Map<String, Object> votes = new LinkedHashMap<>();
        votes.put("42", 2.0);
        votes.put("7", 1.0);
        vote.put("votes", votes);
        vote.put("answer", "42");
        vote.put("chosen", 0);
        trace.put("inner_vote", vote);
        List<List<Map<String, Object>>> tops = new ArrayList<>();
        for (int i = 0; i < LOGPROBS.length; i++) {
            tops.add(List.of(Map.of("token", 100 + i, "text", "t" + i, "logprob", LOGPROBS[i]),
                    Map.of("token", 200 + i, "text", "alt" + i, "logprob", Math.log(Math.max(1e-9, 1 - Math.exp(LOGPROBS[i]))))));
        }
        trace.put("top_logprobs", tops);
        Generation g = new Generation("t0t1t2t3t4", new int[]{100, 101, 102, 103, 104}, LOGPROBS, FinishReason.STOP,
                new Cost(12, 40, 10, 0, Duration.ofMillis(250)), trace);
        return TracePage.document(prompt, g, "stories260K", "mcts", "{\"type\":\"mcts\"}",
                new Budget(80, Long.MAX_VALUE, Duration.ofSeconds(1)), id -> "t" + (id - 100));
    }

    Path write(String name, Map<String, Object> doc) throws Exception {
        Path file = SHOTS.resolve(name).toAbsolutePath();
        TracePage.write(file, "metagen trace " + name, doc);
        return file;
    }

    @Test
    void embeddedJsonCannotCloseItsScriptElement() throws Exception {
        String embedded = TracePage.embedJson(Map.of("prompt", HOSTILE, "x", "a&b\u2028"));
        assertFalse(embedded.contains("<") || embedded.contains(">") || embedded.contains("&") || embedded.contains("\u2028"), embedded);
        assertEquals(HOSTILE, JSON.readTree(embedded).path("prompt").asText(), "the text reads back unchanged");
        Map<String, Object> doc = smallDoc(HOSTILE);
        String page = TracePage.html("<b>title</b>", doc);
        assertEquals(2, page.split("</script>", -1).length - 1, "only the page's own two script elements close");
        assertFalse(page.contains("<img"), "no markup from the data");
        assertTrue(page.contains("<title>&lt;b&gt;title&lt;/b&gt;</title>"));
        assertTrue(page.contains("script-src 'sha256-" + TracePage.sha256(TracePage.script()) + "'"), "the policy runs exactly the viewer");
        String addresses = page.replace(TracePage.embedJson(doc), "").replace("\"http://www.w3.org/2000/svg\"", "");
        assertFalse(addresses.contains("http://") || addresses.contains("https://") || addresses.contains(" src="),
                "no network addresses in the page (but the SVG namespace name)");
    }

    @Test
    void nanAndInfinityBecomeStringsJsonParseReads() throws Exception {
        String s = TracePage.embedJson(Map.of("a", Double.NEGATIVE_INFINITY, "b", Double.NaN));
        JsonNode n = JSON.readTree(s);
        assertEquals("-Infinity", n.path("a").asText());
        assertEquals("NaN", n.path("b").asText());
    }

    @Test
    void drawsTheTreeTheChosenPathCandidatesTokensAndBudget() throws Exception {
        needChromium();
        Path page = write("small.html", smallDoc("Once upon a time " + HOSTILE));
        chromium.navigate(page.toUri().toString());
        chromium.waitFor("document.getElementById('trace-view').dataset.rendered === 'true'", Duration.ofSeconds(10));
        assertEquals(8, chromium.eval("document.querySelectorAll('svg.mt-tree circle.node').length").asInt(), "nodes");
        assertEquals(7, chromium.eval("document.querySelectorAll('svg.mt-tree path.edge').length").asInt(), "edges");
        assertEquals("[0,2,6,7]", chromium.eval("JSON.stringify([...document.querySelectorAll('circle.node.chosen')]"
                + ".map(e => Number(e.dataset.id)).sort((a, b) => a - b))").asText(), "the chosen path's nodes");
        assertEquals("[\"0-2\",\"2-6\",\"6-7\"]", chromium.eval("JSON.stringify([...document.querySelectorAll('path.edge.chosen')]"
                + ".map(e => e.dataset.from + '-' + e.dataset.to).sort())").asText(), "the chosen path's edges");
        assertEquals(4, chromium.eval("document.querySelectorAll('circle.node.terminal').length").asInt());
        // tokens: one chip each, coloured by probability (hue 120 p, as the legend says)
        JsonNode colours = chromium.eval("[...document.querySelectorAll('#mt-tokens .tok')].map(e => getComputedStyle(e).backgroundColor)");
        assertEquals(LOGPROBS.length, colours.size());
        for (int i = 0; i < LOGPROBS.length; i++) {
            assertEquals(rgb(Math.exp(LOGPROBS[i])), colours.get(i).asText(), "token " + i + " with p = " + Math.exp(LOGPROBS[i]));
        }
        assertEquals("t3", chromium.eval("document.querySelectorAll('#mt-tokens .tok')[3].textContent").asText());
        // hovering a token shows its alternatives
        chromium.eval("document.querySelectorAll('#mt-tokens .tok')[1].dispatchEvent(new MouseEvent('mouseover', {bubbles: true, clientX: 50, clientY: 50}))");
        String tip = chromium.eval("document.querySelector('.mt-tip').hidden ? '' : document.querySelector('.mt-tip').textContent").asText();
        assertTrue(tip.contains("\"alt1\"") && tip.contains("0.5000"), tip);
        // candidates, the voted ones, the chosen one, and the vote bars
        assertEquals(3, chromium.eval("document.querySelectorAll('.mt-cand').length").asInt());
        assertEquals(1, chromium.eval("document.querySelectorAll('.mt-cand.chosen').length").asInt());
        assertEquals(2, chromium.eval("document.querySelectorAll('.mt-cand.voted').length").asInt());
        assertEquals("[\"42\",\"7\"]", chromium.eval("JSON.stringify([...document.querySelectorAll('.mt-vote .mt-vote-label')].map(e => e.textContent))").asText(),
                "votes, most first");
        assertEquals(1, chromium.eval("document.querySelectorAll('.mt-vote.chosen').length").asInt());
        // budget use: 40 of 80 tokens, 250 of 1000 ms
        assertEquals("generated tokens: 40 of 80 (50%)", chromium.eval("document.querySelector('.mt-budget[data-kind=\"generated tokens\"] .mt-budget-label').textContent").asText());
        assertEquals("wall ms: 250 of 1000 (25%)", chromium.eval("document.querySelector('.mt-budget[data-kind=\"wall ms\"] .mt-budget-label').textContent").asText());
        // hostile text stays text
        assertTrue(chromium.eval("window.__pwned === undefined && document.querySelectorAll('img').length === 0").asBoolean(), "no markup ran");
        assertEquals("Once upon a time " + HOSTILE, chromium.eval("document.querySelector('.mt-prompt').textContent").asText());
        chromium.screenshot(SHOTS.resolve("small.png"), true);
        // double-click collapses node 2's subtree (5, 6, 7) and again expands it
        chromium.eval("document.querySelector('circle.node[data-id=\"2\"]').dispatchEvent(new MouseEvent('dblclick', {bubbles: true}))");
        assertEquals(5, chromium.eval("document.querySelectorAll('svg.mt-tree circle.node').length").asInt(), "collapsed");
        assertEquals(1, chromium.eval("document.querySelectorAll('circle.node.collapsed').length").asInt());
        assertEquals("+3", chromium.eval("document.querySelector('.lbl.more').textContent").asText());
        chromium.eval("document.querySelector('circle.node[data-id=\"2\"]').dispatchEvent(new MouseEvent('dblclick', {bubbles: true}))");
        assertEquals(8, chromium.eval("document.querySelectorAll('svg.mt-tree circle.node').length").asInt(), "expanded");
        // a click shows the node's step; zooming changes the view box
        chromium.eval("document.querySelector('circle.node[data-id=\"2\"]').dispatchEvent(new MouseEvent('click', {bubbles: true}))");
        assertEquals("b " + HOSTILE, chromium.eval("document.querySelector('.mt-step').textContent").asText());
        String before = chromium.eval("document.querySelector('svg.mt-tree').getAttribute('viewBox')").asText();
        chromium.eval("document.querySelector('svg.mt-tree').dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: 300, clientY: 400, bubbles: true, cancelable: true}))");
        String after = chromium.eval("document.querySelector('svg.mt-tree').getAttribute('viewBox')").asText();
        assertTrue(width(after) < width(before), before + " -> " + after);
        assertEquals(List.of(), chromium.cspViolations(), "the page's policy blocked nothing of its own");
        assertEquals(List.of(), chromium.errors());
    }

    static double width(String viewBox) {
        return Double.parseDouble(viewBox.split(" ")[2]);
    }

    /** The colour the viewer gives probability p, hsl(120 p, 80%, 80%), as getComputedStyle writes it. */
    static String rgb(double p) {
        double h = Math.round(Math.max(0, Math.min(1, p)) * 120) / 360.0;
        double s = 0.8;
        double l = 0.8;
        double q = l < 0.5 ? l * (1 + s) : l + s - l * s;
        double pp = 2 * l - q;
        int r = (int) Math.round(255 * hue(pp, q, h + 1 / 3.0));
        int g = (int) Math.round(255 * hue(pp, q, h));
        int b = (int) Math.round(255 * hue(pp, q, h - 1 / 3.0));
        return String.format(Locale.ROOT, "rgb(%d, %d, %d)", r, g, b);
    }

    private static double hue(double p, double q, double t) {
        if (t < 0) {
            t += 1;
        }
        if (t > 1) {
            t -= 1;
        }
        if (t < 1 / 6.0) {
            return p + (q - p) * 6 * t;
        }
        if (t < 1 / 2.0) {
            return q;
        }
        if (t < 2 / 3.0) {
            return p + (q - p) * (2 / 3.0 - t) * 6;
        }
        return p;
    }

    @Test
    void probabilityColoursMatchJavasHsl() {
        // the reference conversion above, against values worked by hand (CSS Color 4's hsl-to-rgb)
        assertEquals("rgb(245, 163, 163)", rgb(0));
        assertEquals("rgb(163, 245, 163)", rgb(1));
        assertEquals("rgb(245, 245, 163)", rgb(0.5));
    }

    /** A seeded MCTS-shaped tree of {@code n} nodes: each new node hangs under a random earlier node, favouring recent ones. */
    static Map<String, Object> bigDoc(int n) {
        Random rnd = new Random(7);
        List<Map<String, Object>> nodes = new ArrayList<>();
        int[] depth = new int[n];
        nodes.add(node(0, -1, 0, "", null, n, 0.5, false));
        for (int i = 1; i < n; i++) {
            int parent = Math.max(0, i - 1 - (int) Math.abs(rnd.nextGaussian() * Math.sqrt(i)));
            depth[i] = depth[parent] + 1;
            nodes.add(node(i, parent, depth[i], "step " + i + "\n", -rnd.nextDouble() * 3, 1 + rnd.nextInt(20), rnd.nextDouble(), rnd.nextInt(5) == 0));
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("strategy", "mcts");
        trace.put("iterations", n / 2);
        trace.put("tree", Map.of("nodes", nodes));
        trace.put("chosen_node", n - 1);
        Generation g = new Generation("answer", new int[]{1, 2, 3}, new double[]{-0.1, -1.2, -0.01}, FinishReason.STOP,
                new Cost(5000, 20000, n, 0, Duration.ofSeconds(30)), trace);
        return TracePage.document("prompt", g, "stories260K", "mcts", null, Budget.UNLIMITED, null);
    }

    @Test
    void twoThousandNodesPaint() throws Exception {
        needChromium();
        int n = 2000;
        Path page = write("tree-2000.html", bigDoc(n));
        chromium.navigate(page.toUri().toString());
        chromium.waitFor("document.getElementById('trace-view').dataset.rendered === 'true'", Duration.ofSeconds(30));
        assertEquals(n, chromium.eval("document.querySelectorAll('svg.mt-tree circle.node').length").asInt());
        assertEquals(n - 1, chromium.eval("document.querySelectorAll('svg.mt-tree path.edge').length").asInt());
        assertTrue(chromium.eval("document.querySelectorAll('circle.node.chosen').length").asInt() > 2, "a chosen path");
        // measured, not asserted (no wall-clock assertions in unit tests): reported in the test output and target/
        // first-contentful-paint is reported a frame after the load event: wait for the entry
        chromium.waitFor("document.getElementById('trace-view').dataset.painted === 'true'", Duration.ofSeconds(30));
        chromium.eval("new Promise(done => new PerformanceObserver((list, obs) => { if (list.getEntries().some(e => e.name === 'first-contentful-paint')) { obs.disconnect(); done(true); } }).observe({type: 'paint', buffered: true}))");
        JsonNode m = chromium.eval("(() => { const p = performance.getEntriesByType('paint');"
                + " const fp = p.find(e => e.name === 'first-paint'), fcp = p.find(e => e.name === 'first-contentful-paint');"
                + " const r = performance.getEntriesByName('metagen-trace-render')[0], painted = performance.getEntriesByName('metagen-trace-painted')[0];"
                + " const t0 = performance.now(); const v = window.metagenViews[0]; v.toggle(0); v.toggle(0); const redraw = performance.now() - t0;"
                + " return {first_paint_ms: fp && fp.startTime, first_contentful_paint_ms: fcp && fcp.startTime,"
                + " render_ms: r && r.duration, tree_painted_ms: painted && painted.startTime, dom_content_loaded_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,"
                + " collapse_and_expand_root_ms: redraw, nodes: document.querySelectorAll('circle.node').length}; })()");
        assertTrue(m.path("first_contentful_paint_ms").isNumber(), "the page painted: " + m);
        assertEquals(n, m.path("nodes").asInt(), "all nodes back after collapsing and expanding the root");
        chromium.screenshot(SHOTS.resolve("tree-2000.png"), false);
        Files.writeString(SHOTS.resolve("tree-2000-timing.json"), m.toString(), StandardCharsets.UTF_8);
        System.out.println("trace viewer, " + n + "-node tree in headless Chromium: " + m);
        assertEquals(List.of(), chromium.errors());
    }
}
