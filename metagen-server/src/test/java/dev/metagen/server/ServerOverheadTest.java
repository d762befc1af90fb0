package dev.metagen.server;

import dev.metagen.core.GenerationParams;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What HTTP, JSON and request checking cost: the same greedy requests run one after another through the server and
 * directly, in the same process; prints the time ratio (no wall-clock assertion: the machine is shared) and checks
 * that the texts agree.
 */
class ServerOverheadTest {
    @Test
    void serverAgainstDirectGenerationOnTheSameRequests() {
        int rounds = Integer.getInteger("metagen.overhead.requests", 20);
        int tokens = 32;
        var m = TestServer.stories();
        List<String> prompts = List.of("Once upon a time", "The little dog", "Lily and Tom", "One day, a bird");
        try (OpenAiServer s = TestServer.start(m, TestServer.config())) {
            for (int warm = 0; warm < 2; warm++) { // warm both paths up before timing
                direct(m, prompts.getFirst(), tokens);
                TestServer.post(s, "/v1/completions", body(prompts.getFirst(), tokens));
            }
            List<String> viaServer = new ArrayList<>();
            List<String> viaDirect = new ArrayList<>();
            long serverNanos = 0;
            long directNanos = 0;
            for (int i = 0; i < rounds; i++) {
                String p = prompts.get(i % prompts.size());
                long t0 = System.nanoTime();
                viaDirect.add(direct(m, p, tokens));
                long t1 = System.nanoTime();
                viaServer.add(TestServer.post(s, "/v1/completions", body(p, tokens)).json().path("choices").path(0).path("text").asText());
                long t2 = System.nanoTime();
                directNanos += t1 - t0;
                serverNanos += t2 - t1;
            }
            assertEquals(viaDirect, viaServer);
            System.out.printf("server overhead: %d requests of %d tokens, server %.1f ms/request, direct %.1f ms/request, ratio %.2f (%d cores, shared)%n",
                    rounds, tokens, serverNanos / 1e6 / rounds, directNanos / 1e6 / rounds, (double) serverNanos / directNanos,
                    Runtime.getRuntime().availableProcessors());
        }
    }

    private static String body(String prompt, int tokens) {
        return "{\"prompt\":\"" + prompt + "\",\"max_tokens\":" + tokens + ",\"temperature\":0}";
    }

    private static String direct(dev.metagen.core.LanguageModel m, String prompt, int tokens) {
        return new SamplingGenerator(m)
                .generate(m.tokenizer().encode(prompt, true, false), (GenerationParams.greedy(tokens)).withSampling(SamplingConfig.greedy()), t -> {}).text();
    }
}
