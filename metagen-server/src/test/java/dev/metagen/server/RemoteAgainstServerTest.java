package dev.metagen.server;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.client.RemoteGenerator;
import dev.metagen.client.RemoteLeaves;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The remote generator over our own server on stories260K: same text as local, usage in Cost, strategies over it. */
class RemoteAgainstServerTest {
    private static OpenAiServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TestServer.stories(), TestServer.config());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String url() {
        return "http://127.0.0.1:" + server.port() + "/v1";
    }

    @Test
    void greedyRemoteEqualsLocalInBothTransports() {
        var m = TestServer.stories();
        int[] ids = m.tokenizer().encode("Once upon a time", true, false);
        Generation local = new SamplingGenerator(m).generate(ids, (GenerationParams.greedy(20)).withSampling(SamplingConfig.greedy()), t -> {});
        for (boolean stream : new boolean[] {false, true}) {
            try (RemoteGenerator g = RemoteGenerator.builder().endpoint(java.net.URI.create(url())).model("stories260K").stream(stream).logprobs(true).build()) {
                Generation remote = g.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(20));
                assertEquals(local.text(), remote.text(), "stream=" + stream);
                assertEquals(FinishReason.LENGTH, remote.finish());
                assertEquals(ids.length, remote.cost().promptTokens());
                assertEquals(20, remote.cost().generatedTokens());
                assertEquals(1, remote.cost().modelCalls());
                assertEquals(20, remote.logprobs().length);
                assertEquals(local.logprobs()[0], remote.logprobs()[0], 1e-9);
            }
        }
    }

    @Test
    void aStrategyRunsOverTheRemoteGeneratorWithCostsAdded() {
        try (RemoteGenerator remote = RemoteGenerator.builder().endpoint(url()).model("stories260K").logprobs(true).build()) {
            var s = new StrategySpecs(new RemoteLeaves(remote)).parse("{\"type\":\"best_of_n\",\"n\":4,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":{\"type\":\"sample\",\"temperature\":0.9}}");
            Generation g = ((MetaGenerator) s.generator()).generate(Prompt.of("Once upon a time"),
                    new GenerationParams(12, 0.9, 0, 1.0, 77, true, List.of()));
            assertTrue(!g.text().isEmpty());
            assertEquals(4, g.cost().modelCalls());
            assertTrue(g.cost().generatedTokens() >= 4 && g.cost().generatedTokens() <= 48, g.cost().toString());
        }
    }

    @Test
    void greedyLeafOverRemoteIsDeterministicAndVotes() {
        try (RemoteGenerator remote = RemoteGenerator.builder().endpoint(url()).build()) {
            var s = new StrategySpecs(new RemoteLeaves(remote)).parse("{\"type\":\"majority_vote\",\"n\":3,\"extractor\":{\"type\":\"text\"},\"inner\":{\"type\":\"greedy\"}}");
            Generation g = s.generator().generate(Prompt.of("Once upon a time"), new GenerationParams(8, 1.0, 0, 1.0, 1, true, List.of()));
            var direct = TestServer.post(server, "/v1/completions", "{\"prompt\":\"Once upon a time\",\"max_tokens\":8,\"temperature\":0}");
            assertEquals(direct.json().path("choices").path(0).path("text").asText(), g.text());
            assertEquals(3, g.cost().modelCalls());
        }
    }

    @Test
    void chatModeThroughTheTemplate() {
        try (RemoteGenerator g = RemoteGenerator.builder().endpoint(url()).chat(true).systemPrompt("Be kind.").stream(true).build()) {
            Generation out = g.generate(Prompt.of("Tell me a story"), GenerationParams.greedy(10));
            var direct = TestServer.post(server, "/v1/chat/completions", "{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},"
                    + "{\"role\":\"user\",\"content\":\"Tell me a story\"}],\"max_tokens\":10,\"temperature\":0,\"seed\":0}");
            assertEquals(direct.json().path("choices").path(0).path("message").path("content").asText(), out.text());
            assertEquals(10, out.cost().generatedTokens());
        }
    }
}
