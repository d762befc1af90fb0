package dev.metagen.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.eval.report.Point;
import dev.metagen.eval.store.ResultStore;
import dev.metagen.eval.sweep.StrategyEntry;
import dev.metagen.eval.sweep.SweepListener;
import dev.metagen.eval.task.LexicalTask;
import dev.metagen.eval.task.Problem;
import dev.metagen.meta.Cancellation;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.score.ContainsWordsVerifier;
import dev.metagen.meta.spec.StrategySpecs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * End to end on the real stories260K model with the lexical task: majority vote, best-of-N and rejection sampling
 * with the lexical verifier at budgets 1..8, the results, the sample reuse, the summary, the plots and the report
 * (opened in headless Chromium).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SweepTest {
    static final List<Integer> BUDGETS = List.of(1, 2, 4, 8);
    static final String VOTE = "{\"type\": \"majority_vote\", \"extractor\": {\"type\": \"text\"}, \"inner\": {\"type\": \"sample\"}}";
    static final String BON = "{\"type\": \"best_of_n\", \"scorer\": {\"type\": \"lexical\"}, \"inner\": {\"type\": \"sample\"}}";
    static final String REJECT = "{\"type\": \"rejection_sampling\", \"verifier\": {\"type\": \"lexical\"}, \"inner\": {\"type\": \"sample\"}}";
    static final String GREEDY = "{\"type\": \"greedy\", \"name\": \"greedy\"}";
    static final ObjectMapper JSON = new ObjectMapper();

    TransformerModel model;
    Path out;
    Evaluation.Result result;
    List<JsonNode> rows;
    Path dataset;

    @BeforeAll
    void sweep(@TempDir Path dir) throws Exception {
        model = StoriesLeaves.load();
        dataset = Path.of(SweepTest.class.getResource("/eval/lexical.jsonl").toURI());
        out = dir.resolve("out");
        Evaluation.Plan plan = Evaluation.plan(options(out, false));
        result = Evaluation.run(plan, new StoriesLeaves(model), SweepListener.NONE);
        rows = ResultStore.readAll(out.resolve("results.jsonl"));
    }

    Evaluation.Options options(Path out, boolean resume) {
        return new Evaluation.Options(dataset, "lexical", null, List.of(VOTE, BON, REJECT, GREEDY), BUDGETS, null, out, 7,
                resume, new GenerationParams(32, 1.0, 0, 1.0, 0, true, List.of()), "stories260K", 1, true);
    }

    @AfterAll
    void close() {
        model.close();
    }

    JsonNode row(String problem, String strategy, int budget) {
        return rows.stream().filter(r -> r.path("problem").asText().equals(problem) && r.path("strategy").asText().equals(strategy)
                && r.path("budget").asInt() == budget).findFirst().orElseThrow();
    }

    @Test
    void oneResultPerProblemStrategyAndBudget() {
        assertEquals(6 * 3 * 4 + 6, rows.size(), "greedy has no budget knob: it runs once, at the first budget");
        Set<String> keys = new HashSet<>();
        for (JsonNode r : rows) {
            assertTrue(keys.add(ResultStore.key(r.path("problem").asText(), r.path("strategy").asText(), r.path("budget").asInt())));
            assertTrue(r.path("cost").path("generated_tokens").asLong() > 0, r.toString());
            assertTrue(r.has("correct") && r.has("answer") && r.has("trace"));
        }
    }

    @Test
    void withAPerfectVerifierAccuracyNeverFallsWithN() {
        // samples of the N-run are the first N of the 2N-run (seeds by index), so a perfect verifier can only gain
        for (String s : List.of("best_of_n", "rejection_sampling")) {
            int previous = -1;
            StringBuilder curve = new StringBuilder(s + ":");
            for (int b : BUDGETS) {
                int correct = 0;
                for (String p : List.of("lily-play", "girl-toys", "boy", "tree", "mom-day", "saw-big")) {
                    boolean ok = row(p, s, b).path("correct").asBoolean();
                    correct += ok ? 1 : 0;
                    if (b > 1 && row(p, s, b / 2).path("correct").asBoolean()) {
                        assertTrue(ok, s + " " + p + " solved at N=" + b / 2 + " but not at N=" + b);
                    }
                }
                curve.append(" N=").append(b).append(": ").append(correct).append("/6");
                assertTrue(correct >= previous, curve.toString());
                previous = correct;
            }
            System.out.println(curve);
        }
        Point bon1 = point("best_of_n", 1);
        Point bon8 = point("best_of_n", 8);
        assertTrue(bon8.accuracy() > bon1.accuracy() || bon1.accuracy() == 1.0,
                "more samples with a perfect verifier must help on this dataset: " + bon1.accuracy() + " -> " + bon8.accuracy());
    }

    @Test
    void subsetAveragedAccuracyAgreesWithThePoolAndNeverFalls() {
        double previous = -1;
        for (int b : BUDGETS) {
            Point p = point("best_of_n", b);
            assertNotNull(p.subsampledAccuracy());
            assertTrue(p.subsampledAccuracy() >= previous - 1e-12, "best-of-N over subsets is monotone in N");
            previous = p.subsampledAccuracy();
        }
        assertEquals(point("best_of_n", 8).accuracy(), point("best_of_n", 8).subsampledAccuracy(), 1e-12, "the whole pool");
        assertEquals(point("best_of_n", 8).passAtK().get(1), point("best_of_n", 1).subsampledAccuracy(), 1e-12,
                "best-of-1 over subsets is the pool's fraction correct");
        assertNotNull(point("majority_vote", 2).subsampledAccuracy());
        assertEquals(null, point("rejection_sampling", 2).subsampledAccuracy());
    }

    Point point(String s, int b) {
        return result.summary().points().stream().filter(p -> p.strategy().equals(s) && p.budget() == b).findFirst().orElseThrow();
    }

    @Test
    void samplesAreReusedAcrossBudgetsAndResultsEqualStandaloneRuns() {
        // a sweep costs what its largest point costs: the smaller budgets are served from the N=8 samples
        for (String s : List.of("majority_vote", "best_of_n", "rejection_sampling")) {
            for (String p : List.of("lily-play", "tree")) {
                long spent = 0;
                for (int b : BUDGETS) {
                    spent += row(p, s, b).path("spent").path("generated_tokens").asLong();
                }
                assertEquals(row(p, s, 8).path("cost").path("generated_tokens").asLong(), spent, s + " " + p);
                assertEquals(0, row(p, s, 1).path("spent").path("generated_tokens").asLong(), s + " " + p);
                assertTrue(row(p, s, 1).path("reused_samples").asLong() >= 1, s + " " + p);
                assertEquals(0, row(p, s, 8).path("reused_samples").asLong(), s + " " + p);
            }
        }
        assertTrue(result.summary().saving() > 0.3, "saving " + result.summary().saving());
        // and a reused point is exactly what running that strategy alone gives
        Problem problem = new LexicalTask().read(dataset).get(3);
        StrategySpecs specs = new StrategySpecs(new StoriesLeaves(model));
        specs.registerScorer("lexical", n -> new ContainsWordsVerifier(problem.words()));
        for (String spec : List.of(VOTE, BON, REJECT)) {
            StrategyEntry e = StrategyEntry.parse(spec);
            StrategySpecs.Strategy st = specs.parse(e.specAt(2));
            long seed = Seeds.derive(7, 3);
            Generation g = ((MetaGenerator) st.generator()).generate(Prompt.of(problem.prompt()),
                    new GenerationParams(32, 1.0, 0, 1.0, seed, true, List.of()), st.budget(), new Cancellation());
            JsonNode r = row(problem.id(), e.label(), 2);
            assertEquals(g.text(), r.path("output").asText(), e.label());
            assertEquals(g.cost().generatedTokens(), r.path("cost").path("generated_tokens").asLong(), e.label());
            assertEquals(g.cost().modelCalls(), r.path("cost").path("model_calls").asLong(), e.label());
        }
    }

    @Test
    void withoutReuseEveryPointIsComputedAndTheResultsAreTheSame(@TempDir Path dir) {
        Evaluation.Options o = new Evaluation.Options(dataset, "lexical", null, List.of(BON), List.of(1, 2, 4), 2, dir.resolve("x"), 7,
                false, new GenerationParams(32, 1.0, 0, 1.0, 0, true, List.of()), "stories260K", 1, false);
        Evaluation.Result r = Evaluation.run(Evaluation.plan(o), new StoriesLeaves(model), SweepListener.NONE);
        assertEquals(r.summary().reportedGeneratedTokens(), r.summary().spentGeneratedTokens());
        for (JsonNode x : ResultStore.readAll(dir.resolve("x").resolve("results.jsonl"))) {
            JsonNode reused = row(x.path("problem").asText(), "best_of_n", x.path("budget").asInt());
            assertEquals(reused.path("output"), x.path("output"));
            assertEquals(reused.path("cost").path("generated_tokens"), x.path("cost").path("generated_tokens"));
            assertEquals(x.path("cost").path("generated_tokens"), x.path("spent").path("generated_tokens"));
            assertEquals(0, x.path("reused_samples").asLong());
        }
    }

    @Test
    void summaryPlotsAndReportAreWritten() throws Exception {
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(3 * 4 + 1, summary.path("points").size());
        for (JsonNode p : summary.path("points")) {
            double acc = p.path("accuracy").asDouble();
            assertTrue(p.path("ci95").get(0).asDouble() <= acc && acc <= p.path("ci95").get(1).asDouble(), p.toString());
        }
        assertTrue(summary.path("sample_reuse").path("spent_generated_tokens").asLong()
                < summary.path("sample_reuse").path("reported_generated_tokens").asLong());
        assertFalse(summary.path("frontier").isEmpty());
        JsonNode bon4 = summary.path("points").findParents("strategy").stream()
                .filter(p -> p.path("strategy").asText().equals("best_of_n") && p.path("budget").asInt() == 4).findFirst().orElseThrow();
        assertEquals(List.of("1", "2", "4"), iterate(bon4.path("pass_at_k").fieldNames()), "pass@k from the 4 candidates");
        for (String plot : List.of("accuracy_vs_tokens", "frontier")) {
            BufferedImage png = ImageIO.read(out.resolve(plot + ".png").toFile());
            assertEquals(800, png.getWidth());
            String svg = Files.readString(out.resolve(plot + ".svg"));
            assertTrue(svg.contains("<svg") && svg.contains("best_of_n"), plot);
        }
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<table id=\"results\">") && html.contains("class=\"example"));
    }

    static List<String> iterate(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void theReportRendersInHeadlessChromium() throws Exception {
        String chromium = Files.isExecutable(Path.of("/usr/bin/chromium")) ? "/usr/bin/chromium" : null;
        assumeTrue(chromium != null, "needs Debian's chromium (./run-tests installs it)");
        String url = out.resolve("report.html").toUri().toString();
        String dom = runChromium(chromium, "--dump-dom", url);
        assertTrue(dom.contains("<table id=\"results\">"), "the table is in the DOM");
        Matcher rowsInTable = Pattern.compile("<tr><td>").matcher(dom.substring(dom.indexOf("<table id=\"results\">")));
        int n = 0;
        while (rowsInTable.find()) {
            n++;
        }
        assertEquals(13, n, "one table row per strategy x budget");
        for (String plot : List.of("plot-accuracy_vs_tokens", "plot-frontier")) {
            int at = dom.indexOf("id=\"" + plot + "\"");
            assertTrue(at >= 0 && dom.indexOf("<svg", at) > at, plot + " is an inline SVG");
        }
        assertTrue(dom.contains("solved") && dom.contains("failed"));
        // every run links to its trace page, which draws that run's candidates in the viewer
        Matcher links = Pattern.compile("<a class=\"trace-link\" href=\"(traces/run-\\d{5}\\.html)\">").matcher(dom);
        List<String> pages = new java.util.ArrayList<>();
        while (links.find()) {
            pages.add(links.group(1));
        }
        assertEquals(rows.size(), pages.size(), "one trace link per run");
        assertEquals(rows.size(), new HashSet<>(pages).size());
        for (String page : pages) {
            assertTrue(Files.isRegularFile(out.resolve(page)), page);
        }
        int vote = -1;
        for (int i = 0; i < rows.size() && vote < 0; i++) {
            if (rows.get(i).path("type").asText().equals("majority_vote") && rows.get(i).path("budget").asInt() == 4) {
                vote = i;
            }
        }
        String traceDom = runChromium(chromium, "--dump-dom", out.resolve(pages.get(vote)).toUri().toString());
        Matcher candidates = Pattern.compile("<tr class=\"mt-cand[ \"]").matcher(traceDom);
        int shown = 0;
        while (candidates.find()) {
            shown++;
        }
        assertEquals(rows.get(vote).path("trace").path("candidates").size(), shown, "the trace page lists the run's candidates");
        assertTrue(traceDom.contains("class=\"mt-vote"), "and its votes");
        // and the page paints: a screenshot has the plots' colours, not just a blank page
        Path shot = out.resolve("screenshot.png");
        runChromium(chromium, "--screenshot=" + shot, "--window-size=1100,1400", url);
        BufferedImage img = ImageIO.read(shot.toFile());
        assertNotNull(img, "screenshot written");
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 4) {
            for (int x = 0; x < img.getWidth(); x += 4) {
                colours.add(img.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 20, "colours in the screenshot: " + colours.size());
    }

    static String runChromium(String chromium, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--allow-file-access-from-files"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] stdout = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium finished");
        assertEquals(0, p.exitValue(), "chromium exit status");
        return new String(stdout, StandardCharsets.UTF_8);
    }

    @Test
    void resumeWithDifferentSettingsOrAFreshRunOverOldResultsIsRefused() {
        MetagenException e = assertThrows(MetagenException.class, () -> Evaluation.plan(options(out, false)));
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
        Evaluation.Options changed = new Evaluation.Options(dataset, "lexical", null, List.of(VOTE), BUDGETS, null, out, 7,
                true, new GenerationParams(32, 1.0, 0, 1.0, 0, true, List.of()), "stories260K", 1, true);
        e = assertThrows(MetagenException.class, () -> Evaluation.run(Evaluation.plan(changed), new StoriesLeaves(model), SweepListener.NONE));
        assertTrue(e.getMessage().startsWith("cannot resume: 'strategies' differs"), e.getMessage());
    }

    @Test
    void resumingAFinishedRunComputesNothing() {
        Evaluation.Result again = Evaluation.run(Evaluation.plan(options(out, true)), new StoriesLeaves(model), SweepListener.NONE);
        assertEquals(0, again.totals().runs());
        assertEquals(rows.size(), again.totals().skipped());
        assertEquals(rows.size(), ResultStore.readAll(out.resolve("results.jsonl")).size());
    }

    @Test
    void badStrategySpecsAreOneLineErrors() {
        for (Map.Entry<String, String> c : Map.of(
                "{\"type\": \"majority_vote\"", "--strategy: malformed JSON",
                "{\"n\": 3}", "--strategy: the spec has no \"type\"",
                "{\"type\": \"chain\", \"links\": []}", "--strategy: type 'chain' has no default budget knob",
                "@/nonexistent/spec.json", "--strategy @/nonexistent/spec.json: cannot read the file").entrySet()) {
            MetagenException e = assertThrows(MetagenException.class, () -> StrategyEntry.parse(c.getKey()));
            assertTrue(e.getMessage().startsWith(c.getValue()), e.getMessage());
        }
        Evaluation.Options noBudgets = new Evaluation.Options(dataset, "lexical", null, List.of(VOTE), List.of(0), null, out, 7,
                false, new GenerationParams(32, 1.0, 0, 1.0, 0, true, List.of()), "m", 1, true);
        assertEquals("--budgets must be positive integers, got 0",
                assertThrows(MetagenException.class, () -> Evaluation.plan(noBudgets)).getMessage());
    }
}
