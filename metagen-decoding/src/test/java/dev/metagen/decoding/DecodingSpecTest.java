package dev.metagen.decoding;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.beam.BeamSearch;
import dev.metagen.decoding.beam.Hypothesis;
import dev.metagen.core.SamplingConfig;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.testing.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Strategies built from JSON specs behave like the same strategies built in Java. */
@Tag("model")
class DecodingSpecTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static LanguageModel model;

    @BeforeAll
    static void open() {
        model = TestModels.stories260k();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> spec(String json) throws Exception {
        return JSON.readValue(json, Map.class);
    }

    @Test
    void samplingSpecEqualsTheJavaConfig() throws Exception {
        Generator g = DecodingSpec.generator(model, spec("""
                {"strategy": "sample", "temperature": 0.9, "top_k": 20, "min_p": 0.05, "repeat_penalty": 1.1,
                 "logit_bias": {"13": "-inf"}, "samplers": "penalties;top_k;min_p;temperature", "seed": 3}"""));
        Generation a = g.generate(Prompt.of("Once upon a time"), GenerationParams.greedy(20));
        Generation b = new SamplingGenerator(model).generate(Prompt.of("Once upon a time"), (GenerationParams.greedy(20)).withSampling(new SamplingConfig().temperature(0.9).topK(20).minP(0.05)
                .penalties(1.1, 0, 0, 64).logitBias(Map.of(13, Float.NEGATIVE_INFINITY))
                .samplers("penalties;top_k;min_p;temperature").seed(3)).withSeed((new SamplingConfig().temperature(0.9).topK(20).minP(0.05)
                .penalties(1.1, 0, 0, 64).logitBias(Map.of(13, Float.NEGATIVE_INFINITY))
                .samplers("penalties;top_k;min_p;temperature").seed(3)).seed()));
        assertArrayEquals(b.tokens(), a.tokens());
        assertFalse(java.util.Arrays.stream(a.tokens()).anyMatch(t -> t == 13));
    }

    @Test
    void beamSpecReturnsTheBeamSearchResult() throws Exception {
        Generator g = DecodingSpec.generator(model, spec("""
                {"strategy": "beam", "beams": 4, "length_penalty": 0, "num_return_sequences": 2}"""));
        Generation best = g.generate(Prompt.of("The dog"), GenerationParams.greedy(6));
        List<Hypothesis> hs = new BeamSearch(model, new BeamSearch.Settings(4, 0, false, 2, 1, 0))
                .search(model.tokenizer().encode("The dog", true), 6);
        assertArrayEquals(hs.getFirst().tokens(), best.tokens());
        assertEquals(2, ((List<?>) best.trace().get("sequences")).size());
        // the call's logit processors reach the spec's search: a penalty changes it as it changes a search built with it
        GenerationParams penalised = GenerationParams.greedy(30).withSampling(new dev.metagen.core.SamplingConfig()
                .temperature(0).penalties(2.0, 0, 0, 64));
        Generation withPenalty = g.generate(Prompt.of("The dog"), penalised);
        List<Hypothesis> direct = new BeamSearch(model, new BeamSearch.Settings(4, 0, false, 2, 1, 0), penalised.sampling())
                .search(model.tokenizer().encode("The dog", true), 30);
        assertArrayEquals(direct.getFirst().tokens(), withPenalty.tokens());
        assertFalse(java.util.Arrays.equals(g.generate(Prompt.of("The dog"), GenerationParams.greedy(30)).tokens(),
                withPenalty.tokens()), "the penalty changes the best hypothesis");
    }

    @Test
    void greedyAndContrastiveSpecs() throws Exception {
        Generation greedy = DecodingSpec.generator(model, spec("{\"strategy\": \"greedy\"}")).generate(Prompt.of("Lily"), GenerationParams.greedy(8));
        assertArrayEquals(new SamplingGenerator(model).generate(Prompt.of("Lily"), GenerationParams.greedy(8)).tokens(), greedy.tokens());
        Generation cs = DecodingSpec.generator(model, spec("{\"strategy\": \"contrastive\", \"alpha\": 0.6, \"k\": 4}"))
                .generate(Prompt.of("Lily"), GenerationParams.greedy(8));
        assertArrayEquals(new ContrastiveSearch(model, 4, 0.6).generate(Prompt.of("Lily"), GenerationParams.greedy(8)).tokens(), cs.tokens());
    }

    @Test
    void guidanceSpecEqualsTheJavaAdapter() throws Exception {
        Generation a = DecodingSpec.generator(model, spec("""
                {"strategy": "sample", "temperature": 0, "cfg_scale": 2.0}""")).generate(Prompt.of("The cat"), GenerationParams.greedy(10));
        try (var cfg = new dev.metagen.decoding.guidance.ClassifierFreeGuidance(model, new int[] {1}, 2.0)) {
            Generation b = new SamplingGenerator(model).withAdapters(List.of(cfg))
                    .generate(Prompt.of("The cat"), (GenerationParams.greedy(10)).withSampling(SamplingConfig.greedy()));
            assertArrayEquals(b.tokens(), a.tokens());
        }
    }

    @Test
    void badSpecsAreRejected() throws Exception {
        MetagenException typo = assertThrows(MetagenException.class, () -> DecodingSpec.generator(model, spec("{\"top_kk\": 3}")));
        assertTrue(typo.getMessage().contains("top_kk"), typo.getMessage());
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model, spec("{\"strategy\": \"magic\"}")));
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model, spec("{\"top_p\": 1.5}")));
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model, spec("{\"top_k\": \"many\"}")));
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model, spec("{\"strategy\": \"beam\", \"beams\": 1000}")));
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model, spec("{\"samplers\": [\"top_k\", \"nope\"]}")));
    }

    @Test
    void contrastiveDecodingAndProductOfExpertsFromASpecEqualTheJavaAdapters(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path other = dir.resolve("other.gguf");
        dev.metagen.engine.synth.ModelSynthesizer.builder().preset("tiny-llama").tokenizerFrom(TestModels.stories260kPath())
                .seed(5).build().write(other);
        List<dev.metagen.core.LanguageModel> opened = new java.util.ArrayList<>();
        java.util.function.Function<String, dev.metagen.core.LanguageModel> open = path -> {
            dev.metagen.core.LanguageModel m = TestModels.load(java.nio.file.Path.of(path));
            opened.add(m);
            return m;
        };
        try (dev.metagen.core.LanguageModel aux = TestModels.load(other)) {
            GenerationParams params = GenerationParams.greedy(12);
            Generation cd = DecodingSpec.generator(model, spec("""
                    {"strategy": "greedy", "amateur": "%s", "cd_alpha": 0.2}""".formatted(other)), open)
                    .generate(Prompt.of("Once upon a time"), params);
            Generation cdJava = new SamplingGenerator(model)
                    .withAdapters(List.of(new dev.metagen.decoding.guidance.ContrastiveDecoding(aux, 0.2)))
                    .generate(Prompt.of("Once upon a time"), (params).withSampling(new SamplingConfig().temperature(0)).withSeed((new SamplingConfig().temperature(0)).seed()));
            assertArrayEquals(cdJava.tokens(), cd.tokens());

            Generation poe = DecodingSpec.generator(model, spec("""
                    {"strategy": "greedy", "experts": ["%s"], "expert_weights": [-0.5]}""".formatted(other)), open)
                    .generate(Prompt.of("Once upon a time"), params);
            Generation poeJava = new SamplingGenerator(model)
                    .withAdapters(List.of(new dev.metagen.decoding.guidance.ProductOfExperts(1.0, List.of(aux), List.of(-0.5))))
                    .generate(Prompt.of("Once upon a time"), (params).withSampling(new SamplingConfig().temperature(0)).withSeed((new SamplingConfig().temperature(0)).seed()));
            assertArrayEquals(poeJava.tokens(), poe.tokens());
        } finally {
            opened.forEach(dev.metagen.core.LanguageModel::close);
        }
        assertEquals(2, opened.size());
        MetagenException noLoader = assertThrows(MetagenException.class, () -> DecodingSpec.generator(model,
                spec("{\"strategy\": \"sample\", \"amateur\": \"x.gguf\"}")));
        assertTrue(noLoader.getMessage().contains("x.gguf"), noLoader.getMessage());
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model,
                spec("{\"strategy\": \"sample\", \"experts\": [\"a\", \"b\"], \"expert_weights\": [1]}"), open));
        assertThrows(MetagenException.class, () -> DecodingSpec.generator(model,
                spec("{\"strategy\": \"sample\", \"cd_alpha\": 0.1}"), open));
    }
}
