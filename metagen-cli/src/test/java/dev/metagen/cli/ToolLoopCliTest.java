package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static dev.metagen.cli.StrategyCliTest.STORIES;
import static dev.metagen.cli.StrategyCliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --strategy} with a tool_loop: runs on a real model; http tools need the operator's --allow-tool-url. */
class ToolLoopCliTest {
    static final String LOOP = "{\"type\":\"tool_loop\",\"max_turns\":3,\"inner\":{\"type\":\"sample\"},\"tools\":[{\"type\":\"calculator\"}]}";
    static final String HTTP = "{\"type\":\"tool_loop\",\"inner\":{\"type\":\"sample\"},\"tools\":[{\"type\":\"http\",\"name\":\"search\","
            + "\"url\":\"http://127.0.0.1:9/search\"}]}";

    @Test
    void aModelThatWritesNoCallAnswersInOneTurn() throws Exception {
        StrategyCliTest.Result r = run("generate", "-m", STORIES.toString(), "-p", "Once upon a time", "-n", "8", "--seed", "3",
                "--threads", "1", "--strategy", LOOP, "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode o = Json.MAPPER.readTree(r.out());
        // one turn of at most 8 tokens (a leaf counts a model call per forward pass)
        assertTrue(o.get("cost").get("generated_tokens").asInt() <= 8);
        assertEquals(0, o.get("cost").get("tool_calls").asInt());
        assertEquals("tool_loop", o.get("trace").get("strategy").asText());
        assertEquals(1, o.get("trace").get("turns").size());
    }

    @Test
    void httpToolsOnlyOnAllowedUrls() {
        StrategyCliTest.Result refused = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", HTTP);
        assertEquals(2, refused.exit());
        assertTrue(refused.err().contains("--strategy $.tools[0].url: http://127.0.0.1:9/search: the operator allows no http tools (--allow-tool-url)"),
                refused.err());
        StrategyCliTest.Result other = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", HTTP,
                "--allow-tool-url", "http://127.0.0.1:9/other/");
        assertEquals(2, other.exit());
        assertTrue(other.err().contains("not among the URLs the operator allows"), other.err());
        StrategyCliTest.Result allowed = run("generate", "-m", STORIES.toString(), "-p", "x", "-n", "4", "--strategy", HTTP,
                "--allow-tool-url", "127.0.0.1");
        assertEquals(0, allowed.exit(), allowed.err());
        StrategyCliTest.Result alone = run("generate", "-m", STORIES.toString(), "-p", "x", "--allow-tool-url", "example.com");
        assertEquals(2, alone.exit());
        assertTrue(alone.err().contains("--allow-tool-url applies only with --strategy"), alone.err());
        StrategyCliTest.Result bad = run("generate", "-m", STORIES.toString(), "-p", "x", "--strategy", HTTP, "--allow-tool-url", "ftp://x/");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--allow-tool-url 'ftp://x/': only http and https URLs"), bad.err());
    }
}
