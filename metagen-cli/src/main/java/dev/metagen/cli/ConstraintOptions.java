package dev.metagen.cli;

import dev.metagen.control.ConstrainedGenerator;
import dev.metagen.control.Constraints;
import dev.metagen.control.TokenConstraint;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The controlled-generation options of {@code generate}: one of a JSON Schema, a regex, a GBNF grammar or a choice. */
final class ConstraintOptions {
    @Option(names = "--json-schema", paramLabel = "FILE", description = "Constrain the output to JSON valid under this JSON Schema file.")
    Path jsonSchema;

    @Option(names = "--json-object", description = "Constrain the output to a JSON object.")
    boolean jsonObject;

    @Option(names = "--best-effort", description = "With --json-schema: drop unsupported keywords (reported on stderr) instead of failing.")
    boolean bestEffort;

    @Option(names = "--regex", description = "Constrain the output to match this regular expression (anchored).")
    String regex;

    @Option(names = "--grammar", paramLabel = "FILE", description = "Constrain the output to this GBNF grammar file (llama.cpp format).")
    Path grammar;

    @Option(names = "--choice", description = "Constrain the output to one of these strings (repeatable).")
    List<String> choice = new ArrayList<>();

    /** The constraint asked for, as a value of the parameter model; null when none. */
    dev.metagen.core.OutputConstraint outputConstraint() {
        int given = (jsonSchema != null ? 1 : 0) + (jsonObject ? 1 : 0) + (regex != null ? 1 : 0) + (grammar != null ? 1 : 0)
                + (choice.isEmpty() ? 0 : 1);
        if (given > 1) {
            throw new MetagenException("give only one of --json-schema, --json-object, --regex, --grammar, --choice");
        }
        if (bestEffort && jsonSchema == null) {
            throw new MetagenException("--best-effort applies to --json-schema only");
        }
        if (jsonSchema != null) {
            String text = read(jsonSchema, "JSON Schema");
            if (bestEffort) {
                for (String d : JsonSchemaCompiler.compile(text, true).dropped()) {
                    System.err.println("metagen: warning: dropped unsupported JSON Schema keyword " + d);
                }
            }
            return dev.metagen.core.OutputConstraint.jsonSchema(text, bestEffort);
        }
        if (jsonObject) {
            return dev.metagen.core.OutputConstraint.jsonObject();
        }
        if (regex != null) {
            return dev.metagen.core.OutputConstraint.regex(regex);
        }
        if (grammar != null) {
            return dev.metagen.core.OutputConstraint.grammar(read(grammar, "grammar"));
        }
        if (!choice.isEmpty()) {
            return dev.metagen.core.OutputConstraint.choice(choice);
        }
        return null;
    }

    /** The constraint asked for, compiled for {@code tokenizer}; null when none. */
    TokenConstraint build(dev.metagen.core.Tokenizer tokenizer) {
        int given = (jsonSchema != null ? 1 : 0) + (jsonObject ? 1 : 0) + (regex != null ? 1 : 0) + (grammar != null ? 1 : 0)
                + (choice.isEmpty() ? 0 : 1);
        if (given > 1) {
            throw new MetagenException("give only one of --json-schema, --json-object, --regex, --grammar, --choice");
        }
        if (jsonSchema != null) {
            String text = read(jsonSchema, "JSON Schema");
            JsonSchemaCompiler.Result r = JsonSchemaCompiler.compile(text, bestEffort);
            for (String d : r.dropped()) {
                System.err.println("metagen: warning: dropped unsupported JSON Schema keyword " + d);
            }
            return new dev.metagen.control.GrammarConstraint(dev.metagen.control.grammar.GrammarAutomaton.of(r.grammar()),
                    dev.metagen.control.Vocabulary.of(tokenizer), "JSON Schema " + jsonSchema.getFileName());
        }
        if (jsonObject) {
            return Constraints.jsonObject(tokenizer);
        }
        if (regex != null) {
            return Constraints.regex(regex, tokenizer);
        }
        if (grammar != null) {
            try {
                return Constraints.gbnf(read(grammar, "grammar"), tokenizer);
            } catch (MetagenException e) {
                throw new MetagenException(grammar + ": " + MetagenException.describe(e));
            }
        }
        if (!choice.isEmpty()) {
            return Constraints.choice(choice, tokenizer);
        }
        return null;
    }

    private static String read(Path p, String what) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new MetagenException("cannot read " + what + " file " + p + ": " + MetagenException.describe(e));
        }
    }

    /** Runs constrained generation; prints the text when {@code out} is given (not streamed). */
    static Generation generate(LanguageModel m, TokenConstraint c, String prompt, GenerationParams params, PrintWriter out) {
        Generation g = new ConstrainedGenerator(m, c).generate(Prompt.of(prompt), params);
        if (out != null) {
            out.print(g.text());
            out.flush();
        }
        return g;
    }
}
