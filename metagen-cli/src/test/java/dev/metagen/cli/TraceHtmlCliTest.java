package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.testing.HeadlessChromium;
import dev.metagen.core.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code generate --trace-html FILE} on stories260K: a strategy's tree and a plain generation's tokens, as a page. */
class TraceHtmlCliTest {
    static final Path STORIES = SharedData.stories260k();
    static final String MCTS = "{\"type\":\"mcts\",\"iterations\":4,\"width\":2,\"delimiter\":\" \",\"step_max_tokens\":4,"
            + "\"max_steps\":3,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\"},\"budget\":{\"tokens\":200}}";

    @Test
    void aStrategysTreeAndAPlainGenerationsTokens(@TempDir Path dir) throws Exception {
        Path page = dir.resolve("mcts.html");
        StrategyCliTest.Result r = StrategyCliTest.run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "16",
                "--seed", "2", "--threads", "1", "--strategy", MCTS, "--json", "--trace-html", page.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        int nodes = o.path("trace").path("tree").path("nodes").size();
        assertTrue(nodes > 3, "nodes: " + nodes);
        String html = Files.readString(page);
        assertTrue(html.contains("id=\"trace-data\""), "the trace is embedded");
        Path plain = dir.resolve("plain.html");
        r = StrategyCliTest.run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "6", "--seed", "2",
                "--threads", "1", "--logprobs", "3", "--trace-html", plain.toString());
        assertEquals(0, r.exit(), "--logprobs with --trace-html alone: " + r.err());
        assumeTrue(HeadlessChromium.available(), "needs Debian's chromium (./run-tests installs it)");
        try (HeadlessChromium c = HeadlessChromium.start(1200, 1000)) {
            c.navigate(page.toUri().toString());
            c.waitFor("document.getElementById('trace-view').dataset.rendered === 'true'", Duration.ofSeconds(20));
            assertEquals(nodes, c.eval("document.querySelectorAll('circle.node').length").asInt());
            assertEquals(nodes - 1, c.eval("document.querySelectorAll('path.edge').length").asInt());
            int chosen = o.path("trace").path("chosen_node").asInt();
            assertEquals(1, c.eval("document.querySelectorAll('circle.node.chosen[data-id=\"" + chosen + "\"]').length").asInt());
            assertEquals(o.path("text").asText(), c.eval("document.querySelector('.mt-output').textContent").asText());
            assertEquals("generated tokens: " + o.path("cost").path("generated_tokens").asLong() + " of 200",
                    c.eval("document.querySelector('.mt-budget .mt-budget-label').textContent").asText().replaceFirst(" \\(.*", ""));
            c.screenshot(Path.of("target", "trace-html", "generate-mcts.png"), true);
            c.navigate(plain.toUri().toString());
            c.waitFor("document.getElementById('trace-view').dataset.rendered === 'true'", Duration.ofSeconds(20));
            assertEquals(6, c.eval("document.querySelectorAll('.tok').length").asInt(), "one chip per generated token");
            assertEquals(0, c.eval("document.querySelectorAll('circle.node').length").asInt(), "no tree without a search");
            assertEquals(c.eval("document.querySelector('.mt-output').textContent").asText(),
                    c.eval("[...document.querySelectorAll('.tok')].map(e => e.textContent).join('')").asText().replace("⏎", "\n"));
            assertEquals(java.util.List.of(), c.cspViolations());
            assertEquals(java.util.List.of(), c.errors());
        }
    }

    @Test
    void aPageThatCannotBeWrittenIsRefusedFirst(@TempDir Path dir) {
        StrategyCliTest.Result r = StrategyCliTest.run("generate", "-m", STORIES.toString(), "-p", "x", "-n", "2",
                "--trace-html", dir.resolve("missing/page.html").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("--trace-html " + dir.resolve("missing/page.html") + ": its folder does not exist"), r.err());
    }
}
