package dev.metagen.cli;

import dev.metagen.control.Constraints;
import dev.metagen.control.GrammarConstraint;
import dev.metagen.control.TokenConstraint;
import dev.metagen.control.Vocabulary;
import dev.metagen.control.bench.MaskBench;
import dev.metagen.control.grammar.GrammarAutomaton;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.tokenizer.GgufTokenizers;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import picocli.CommandLine.Option;

/**
 * {@code metagen bench --constraint KIND:ARG}: token-mask latency (median and p99 microseconds) and compile time
 * of a constraint over a model's or a vocab-only GGUF's vocabulary.
 */
final class ConstraintBenchOptions {
    @Option(names = "--constraint", paramLabel = "KIND:ARG",
            description = "Benchmark token masks instead of the model: json-schema:FILE|DIR, regex:RE, grammar:FILE, json-object.")
    String constraint;

    @Option(names = "--vocab", paramLabel = "FILE", description = "With --constraint: take the vocabulary from this GGUF (vocab-only files work).")
    Path vocab;

    @Option(names = "--mask-steps", defaultValue = "64", description = "With --constraint: tokens per walk (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--mask-runs", defaultValue = "20", description = "With --constraint: walks, each on a freshly compiled constraint (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--limit", defaultValue = "50", description = "With --constraint json-schema:DIR: schemas to take (default: ${DEFAULT-VALUE}).")
    int limit;

    boolean active() {
        return constraint != null;
    }

    int run(ModelOption model, PrintWriter out, PrintWriter err, boolean json) {
        Path vocabFile = vocab != null ? vocab : model.resolve();
        Tokenizer tok;
        try (GgufFile f = GgufFile.open(vocabFile)) {
            tok = GgufTokenizers.fromGguf(f);
        }
        Vocabulary v = Vocabulary.of(tok);
        int colon = constraint.indexOf(':');
        String kind = colon < 0 ? constraint : constraint.substring(0, colon);
        String arg = colon < 0 ? "" : constraint.substring(colon + 1);
        List<Supplier<TokenConstraint>> targets = new ArrayList<>();
        switch (kind) {
            case "json-object" -> targets.add(() -> Constraints.jsonObject(tok));
            case "regex" -> targets.add(() -> Constraints.regex(arg, tok));
            case "grammar" -> {
                String text = read(Path.of(arg));
                targets.add(() -> Constraints.gbnf(text, tok));
            }
            case "json-schema" -> {
                Path p = Path.of(arg);
                List<Path> files = new ArrayList<>();
                if (Files.isDirectory(p)) {
                    try (Stream<Path> s = Files.list(p)) {
                        s.filter(x -> x.toString().endsWith(".json")).sorted().limit(limit).forEach(files::add);
                    } catch (IOException e) {
                        throw new MetagenException("cannot list " + p + ": " + MetagenException.describe(e));
                    }
                } else {
                    files.add(p);
                }
                for (Path f : files) {
                    String text = read(f);
                    try {
                        JsonSchemaCompiler.compile(text, true);
                    } catch (MetagenException e) {
                        continue; // not compilable even best-effort: skipped
                    }
                    targets.add(() -> new GrammarConstraint(GrammarAutomaton.of(JsonSchemaCompiler.compile(text, true).grammar()), v, f.toString()));
                }
            }
            default -> throw new MetagenException("--constraint must be json-schema:FILE|DIR, regex:RE, grammar:FILE or json-object, got '" + constraint + "'");
        }
        if (targets.isEmpty()) {
            throw new MetagenException("no constraint to benchmark in " + constraint);
        }
        List<Double> all = new ArrayList<>();
        List<Double> coldAll = new ArrayList<>();
        List<Double> compile = new ArrayList<>();
        int completed = 0;
        int walks = 0;
        int perTarget = Math.max(1, runs / targets.size());
        MaskBench.run(targets.getFirst(), 2, steps, 0); // warm-up of the JIT
        for (int i = 0; i < targets.size(); i++) {
            MaskBench.Result r = MaskBench.run(targets.get(i), perTarget, steps, i);
            for (double t : r.maskMicros()) {
                all.add(t);
            }
            for (double t : r.coldMaskMicros()) {
                coldAll.add(t);
            }
            compile.add(r.compileMillisMedian());
            completed += r.completed();
            walks += r.runs();
        }
        double[] times = all.stream().mapToDouble(Double::doubleValue).toArray();
        double[] coldTimes = coldAll.stream().mapToDouble(Double::doubleValue).toArray();
        MaskBench.Result total = new MaskBench.Result(times, coldTimes, walks, completed, 0);
        double[] comp = compile.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("constraint", constraint);
        o.put("vocab_file", vocabFile.toString());
        o.put("vocab_size", tok.vocabSize());
        o.put("constraints", targets.size());
        o.put("walks", walks);
        o.put("completed_walks", completed);
        o.put("masks", times.length);
        o.put("mask_us_median", total.median());
        o.put("mask_us_p99", total.p99());
        o.put("computed_masks", coldTimes.length);
        o.put("computed_mask_us_median", total.coldMedian());
        o.put("compile_ms_median", comp[comp.length / 2]);
        o.put("compile_ms_p99", comp[Math.min(comp.length - 1, (int) (0.99 * comp.length))]);
        o.put("cores", Runtime.getRuntime().availableProcessors());
        if (json) {
            out.println(Json.write(o));
        } else {
            out.printf("%s over %d tokens (%s): mask median %.1f us, p99 %.1f us over %d masks (%d computed, median %.1f us); compile median %.1f ms, p99 %.1f ms (%d cores)%n",
                    constraint, tok.vocabSize(), vocabFile.getFileName(), total.median(), total.p99(), times.length, coldTimes.length, total.coldMedian(),
                    comp[comp.length / 2], comp[Math.min(comp.length - 1, (int) (0.99 * comp.length))], Runtime.getRuntime().availableProcessors());
        }
        err.flush();
        return 0;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new MetagenException("cannot read " + p + ": " + MetagenException.describe(e));
        }
    }
}
