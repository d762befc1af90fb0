package dev.metagen.server;

import dev.metagen.client.RemoteGenerator;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.spec.StrategySpecException;
import dev.metagen.meta.spec.StrategySpecs;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A remote endpoint as a named model of the registry ({@code --model remote=http://.../v1}), over our own server on
 * stories260K: its leaves generate what the local leaves generate with every parameter sent, costs come from the
 * endpoint's usage, and what the endpoint cannot do is refused by name.
 */
class RemoteNamedModelTest {
    private static final String PROMPT = "Once upon a time";
    private static final GenerationParams PARAMS = new GenerationParams(16, 1.0, 0, 1.0, 7, true, List.of());
    private static OpenAiServer server;
    private static ModelRegistry registry;
    private static StrategySpecs specs;

    @BeforeAll
    static void start() {
        server = TestServer.start(TestServer.stories(), TestServer.config());
        registry = ModelRegistry.of(TestServer.stories(), Map.of("remote", "http://127.0.0.1:" + server.port() + "/v1"), ref -> {
            throw new MetagenException("no local model but the default here: " + ref);
        }, RemoteGenerator::forReference);
        specs = new StrategySpecs(new LeafGenerators(registry, false));
    }

    @AfterAll
    static void stop() {
        registry.close();
        server.close();
    }

    private static Generation run(String spec, GenerationParams params) {
        return specs.parse(spec).generator().generate(Prompt.of(PROMPT), params);
    }

    private static String bestOf2(String leaf) {
        return "{\"type\":\"best_of_n\",\"n\":2,\"scorer\":{\"type\":\"mean_logprob\"},\"inner\":" + leaf + "}";
    }

    @Test
    void aRemoteGreedyLeafUnderBestOfNGeneratesWhatTheLocalOneDoesAndCostsTheEndpointsUsage() {
        Generation local = run(bestOf2("{\"type\":\"greedy\"}"), PARAMS);
        Generation remote = run(bestOf2("{\"type\":\"greedy\",\"model\":\"remote\"}"), PARAMS);
        assertEquals(local.text(), remote.text());
        assertEquals(2, remote.cost().modelCalls(), "one request per sample");
        assertEquals(local.cost().generatedTokens(), remote.cost().generatedTokens());
        int promptTokens = TestServer.stories().tokenizer().encode(PROMPT, true, false).length;
        assertEquals(2L * promptTokens, remote.cost().promptTokens(), "the endpoint's usage, per call");
    }

    @Test
    void logitBiasReachesTheServerAndABannedTokenNeverAppears() {
        Generation plain = run("{\"type\":\"greedy\"}", PARAMS);
        int banned = plain.tokens()[0];
        String leaf = "\"logit_bias\":{\"" + banned + "\":\"-inf\"}}";
        Generation local = run("{\"type\":\"greedy\"," + leaf, PARAMS);
        Generation remote = run("{\"type\":\"greedy\",\"model\":\"remote\"," + leaf, PARAMS);
        assertFalse(Arrays.stream(local.tokens()).anyMatch(t -> t == banned));
        assertEquals(local.text(), remote.text(), "the endpoint banned token " + banned + " too");
        assertNotEquals(plain.text(), remote.text());
    }

    @Test
    void minPReachesTheServer() {
        GenerationParams hot = PARAMS.withSampling(PARAMS.sampling().temperature(1.5));
        String strict = ",\"min_p\":0.5}";
        Generation remoteStrict = run("{\"type\":\"sample\",\"model\":\"remote\"" + strict, hot);
        assertEquals(run("{\"type\":\"sample\"" + strict, hot).text(), remoteStrict.text());
        Generation remoteLoose = run("{\"type\":\"sample\",\"model\":\"remote\"}", hot);
        assertEquals(run("{\"type\":\"sample\"}", hot).text(), remoteLoose.text());
        assertNotEquals(remoteLoose.text(), remoteStrict.text(), "min_p changed what the server sampled");
    }

    @Test
    void aSettingTheEndpointCannotTakeIsRefusedByName() {
        StrategySpecException atBuild = assertThrows(StrategySpecException.class,
                () -> specs.parse("{\"type\":\"sample\",\"model\":\"remote\",\"mirostat\":2}"));
        assertTrue(atBuild.getMessage().contains("mirostat") && atBuild.getMessage().contains("remote"), atBuild.getMessage());
        // the caller's parameters are checked at the call, before any request
        GenerationParams xtc = PARAMS.withSampling(PARAMS.sampling().xtc(0.5, 0.1));
        MetagenException atCall = assertThrows(MetagenException.class, () -> run("{\"type\":\"greedy\",\"model\":\"remote\"}", xtc));
        assertTrue(atCall.getMessage().contains("xtc_probability"), atCall.getMessage());
    }

    @Test
    void leavesAndAdaptersThatNeedLogitsRefuseARemoteNameWhenTheSpecIsBuilt() {
        for (String spec : List.of("{\"type\":\"beam\",\"model\":\"remote\"}", "{\"type\":\"contrastive\",\"model\":\"remote\"}",
                "{\"type\":\"sample\",\"amateur\":\"remote\"}", "{\"type\":\"sample\",\"experts\":[\"remote\"]}",
                "{\"type\":\"speculative\",\"draft\":\"remote\"}")) {
            StrategySpecException e = assertThrows(StrategySpecException.class, () -> specs.parse(spec), spec);
            assertTrue(e.getMessage().contains("'remote' is a remote endpoint"), e.getMessage());
            // the front ends' check before any model is loaded says the same
            assertThrows(StrategySpecException.class,
                    () -> LeafGenerators.validator(Sandbox.Limits.DEFAULT, Set.of("remote")).parse(spec), spec);
        }
        StrategySpecException beam = assertThrows(StrategySpecException.class, () -> specs.parse("{\"type\":\"beam\",\"model\":\"remote\"}"));
        assertTrue(beam.getMessage().contains("beam leaf") && beam.getMessage().contains("$.model"), beam.getMessage());
        // guidance given by the caller names the endpoint: refused at the call
        GenerationParams guided = PARAMS.withGuidance(dev.metagen.core.Guidance.NONE.withAmateur("remote", 0.1));
        MetagenException e = assertThrows(MetagenException.class, () -> run("{\"type\":\"sample\"}", guided));
        assertTrue(e.getMessage().contains("remote endpoint"), e.getMessage());
    }
}
