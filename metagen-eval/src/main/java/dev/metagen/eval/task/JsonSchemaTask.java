package dev.metagen.eval.task;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.score.Verifier;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * JSON Schema compliance (JSONSchemaBench, Geng et al., 2025): the dataset is a folder of schema files (JSONSchemaBench's
 * {@code data/<collection>}) or JSONL rows {@code {"id", "schema", "prompt"?}}; an output is correct when the first JSON
 * value in it parses and validates against the schema (networknt json-schema-validator, format assertions on). Specs
 * may verify with {@code {"type": "json"}}, which validates against the current problem's schema.
 */
public final class JsonSchemaTask implements Task {
    static final String TEMPLATE = "Write a JSON value that satisfies this JSON Schema:\n%s\nJSON:\n";
    private final Map<String, JsonSchema> compiled = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "json";
    }

    @Override
    public List<Problem> read(Path dataset) {
        List<Problem> out = new ArrayList<>();
        if (Files.isDirectory(dataset)) {
            List<Path> files;
            try (Stream<Path> s = Files.list(dataset)) {
                files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            } catch (IOException e) {
                throw new MetagenException("cannot list " + dataset + ": " + MetagenException.describe(e));
            }
            if (files.isEmpty()) {
                throw new MetagenException("dataset folder " + dataset + " has no .json schema files");
            }
            for (Path f : files) {
                String schema;
                try {
                    schema = Files.readString(f);
                    Datasets.JSON.readTree(schema);
                } catch (IOException e) {
                    throw new MetagenException("schema " + f + " is not readable JSON: " + MetagenException.describe(e));
                }
                String id = f.getFileName().toString().replaceFirst("\\.json$", "");
                out.add(new Problem(id, TEMPLATE.formatted(schema.strip()), null, List.of(), Map.of("schema", schema)));
            }
            return out;
        }
        List<Datasets.Row> rows = Datasets.readJsonl(dataset);
        for (int i = 0; i < rows.size(); i++) {
            Datasets.Row r = rows.get(i);
            JsonNode s = r.node().get("schema");
            if (s == null || !(s.isObject() || s.isBoolean())) {
                throw new MetagenException(dataset + ":" + r.line() + ": 'schema' must be a JSON Schema object");
            }
            String schema = s.toString();
            String prompt = r.node().hasNonNull("prompt") ? r.node().get("prompt").asText() : TEMPLATE.formatted(schema);
            out.add(new Problem(r.id(i), prompt, null, List.of(), Map.of("schema", schema)));
        }
        return out;
    }

    /** The first JSON value in {@code output} (from its first '{' or '['), or empty. */
    public static Optional<JsonNode> firstJson(String output) {
        int obj = output.indexOf('{');
        int arr = output.indexOf('[');
        int start = obj < 0 ? arr : arr < 0 ? obj : Math.min(obj, arr);
        if (start < 0) {
            return Optional.empty();
        }
        try (JsonParser p = Datasets.JSON.getFactory().createParser(output.substring(start))) {
            return Optional.ofNullable(Datasets.JSON.readTree(p));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private JsonSchema schema(String text) {
        return compiled.computeIfAbsent(text, t -> {
            try {
                JsonNode node = Datasets.JSON.readTree(t);
                String declared = node.path("$schema").asText("");
                SpecVersion.VersionFlag v = declared.contains("draft-04") ? SpecVersion.VersionFlag.V4
                        : declared.contains("draft-06") ? SpecVersion.VersionFlag.V6
                        : declared.contains("draft-07") ? SpecVersion.VersionFlag.V7
                        : declared.contains("2019-09") ? SpecVersion.VersionFlag.V201909 : SpecVersion.VersionFlag.V202012;
                SchemaValidatorsConfig config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
                return JsonSchemaFactory.getInstance(v).getSchema(node, config);
            } catch (JsonProcessingException e) {
                throw new MetagenException("schema is not JSON: " + e.getOriginalMessage());
            }
        });
    }

    @Override
    public Grade grade(Problem problem, String output) {
        Optional<JsonNode> json = firstJson(output);
        if (json.isEmpty()) {
            return new Grade(null, false, "no parseable JSON in the output");
        }
        String answer = json.get().toString();
        Set<ValidationMessage> errors;
        try {
            errors = schema((String) problem.fields().get("schema")).validate(json.get());
        } catch (RuntimeException e) { // unresolvable $ref, unsupported keyword: the output cannot be judged valid
            return new Grade(answer, false, "schema could not be applied: " + MetagenException.describe(e));
        }
        return errors.isEmpty() ? new Grade(answer, true, "valid")
                : new Grade(answer, false, errors.iterator().next().getMessage());
    }

    @Override
    public Optional<Verifier> verifier(Problem problem) {
        return Optional.of((prompt, candidate) -> {
            Grade g = grade(problem, candidate.text());
            return new Verifier.Verdict(g.correct(), g.detail());
        });
    }
}
