package dev.metagen.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.control.grammar.GrammarAutomaton;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Coverage on JSONSchemaBench (../shared/datasets/jsonschemabench/data): per collection, the share of schemas
 * that compile (strict, and best-effort), and for a sample of strictly compiled ones, the share of generated
 * outputs (stories260K, sampled, 64 tokens) that finish and validate under networknt. Every finished output of a
 * strictly compiled schema must validate. {@code -Dmetagen.coverage.sample=N} sets the per-collection sample
 * (default 4; 0 = all compiled schemas) and {@code -Dmetagen.coverage.stride=K} takes every K-th schema (default 10;
 * 1 = the whole collection, for the report's numbers).
 */
@Tag("model")
class JsonSchemaBenchCoverageTest {

    @Test
    void coveragePerCollection() throws Exception {
        int sample = Integer.getInteger("metagen.coverage.sample", 4);
        Path data = Models.datasets().resolve("jsonschemabench/data");
        LanguageModel model = Models.stories();
        Vocabulary vocab = Vocabulary.of(model.tokenizer());
        List<String> invalid = new ArrayList<>();
        List<Path> collections;
        try (Stream<Path> s = Files.list(data)) {
            String only = System.getProperty("metagen.coverage.collections", "");
            collections = s.filter(Files::isDirectory)
                    .filter(c -> only.isEmpty() || List.of(only.split(",")).contains(c.getFileName().toString())).sorted().toList();
        }
        int totalGenerated = 0, totalFinished = 0, unvalidatable = 0;
        System.out.println("collection | schemas | compiled strict | compiled best-effort | generated | finished | valid");
        for (Path col : collections) {
            List<Path> files;
            try (Stream<Path> s = Files.list(col)) {
                files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            }
            int stride = Integer.getInteger("metagen.coverage.stride", 10);
            List<Path> strided = new ArrayList<>();
            for (int i = 0; i < files.size(); i += stride) {
                strided.add(files.get(i));
            }
            files = strided;
            int strict = 0, lenient = 0, generated = 0, finished = 0, valid = 0;
            for (Path f : files) {
                if (Boolean.getBoolean("metagen.coverage.trace")) {
                    System.out.println("... " + f.getFileName());
                }
                String text = Files.readString(f);
                // only the compiler's refusal counts as "not compiled"; anything else (a stack overflow, a failure
                // while generating) is a defect and fails the test
                GrammarAutomaton a = compile(text, false);
                if (a == null) {
                    if (compile(text, true) != null) {
                        lenient++;
                    }
                    continue;
                }
                strict++;
                lenient++;
                if (sample != 0 && generated >= sample) {
                    continue;
                }
                JsonNode schema = JsonInstances.MAPPER.readTree(text);
                SchemaValidator validator;
                try {
                    validator = new SchemaValidator(schema);
                } catch (RuntimeException e) {
                    unvalidatable++;
                    continue; // the validator cannot load it (e.g. remote refs): not counted
                }
                GrammarConstraint c = new GrammarConstraint(a, vocab, f.getFileName().toString());
                GenerationParams p = new GenerationParams(64, 1.0, 0, 1.0, generated, true, List.of());
                Generation g = new ConstrainedGenerator(model, c, 0.5).generate(Prompt.of("{"), p);
                generated++;
                if (g.finish() == FinishReason.STOP) {
                    finished++;
                    var errors = validator.errors(JsonInstances.MAPPER.readTree(g.text()));
                    if (errors.isEmpty()) {
                        valid++;
                    } else {
                        invalid.add(f + ": " + errors + " : " + g.text());
                    }
                }
            }
            assertTrue(strict > 0, col.getFileName() + ": no schema compiled strictly");
            totalGenerated += generated;
            totalFinished += finished;
            System.out.printf("%s | %d | %.1f%% | %.1f%% | %d | %d | %d%n", col.getFileName(), files.size(),
                    100.0 * strict / files.size(), 100.0 * lenient / files.size(), generated, finished, valid);
        }
        invalid.forEach(System.out::println);
        assertEquals(List.of(), invalid);
        // the check above is only as strong as the number of outputs it saw
        assertTrue(totalGenerated > 0 && totalFinished > 0,
                "generated " + totalGenerated + ", finished " + totalFinished + ", unvalidatable " + unvalidatable);
    }

    private static GrammarAutomaton compile(String schema, boolean bestEffort) {
        try {
            return GrammarAutomaton.of(JsonSchemaCompiler.compile(schema, bestEffort).grammar());
        } catch (MetagenException e) {
            return null; // impossible, unsupported, or a broken $ref
        }
    }
}
