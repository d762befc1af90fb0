package dev.metagen.cli;

import dev.metagen.core.Generation;
import dev.metagen.core.LanguageModel;
import dev.metagen.meta.Budget;
import dev.metagen.meta.trace.TracePage;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code generate --trace-html FILE}: the generation's trace as a self-contained page ({@link TracePage}). */
final class TraceHtml {
    private TraceHtml() {
    }

    /** Refuses a page that cannot be written (its folder missing, or a folder in its place) before anything runs. */
    static void check(CommandSpec spec, Path file) {
        if (file == null) {
            return;
        }
        Path parent = file.toAbsolutePath().getParent();
        if (Files.isDirectory(file) || parent == null || !Files.isDirectory(parent)) {
            throw new ParameterException(spec.commandLine(), "--trace-html " + file + ": "
                    + (Files.isDirectory(file) ? "is a directory" : "its folder does not exist"));
        }
    }

    /**
     * Writes the page of {@code g}; {@code strategy}, {@code specText} and {@code budget} are null for a plain
     * generation.
     */
    static void write(Path file, LanguageModel m, String prompt, Generation g, String strategy, String specText, Budget budget) {
        String spec = specText == null ? null : specText.strip().startsWith("{") ? specText : "(from file " + specText + ")";
        TracePage.write(file, "metagen trace" + (strategy == null ? "" : ": " + strategy),
                TracePage.document(prompt, g, m.info().name(), strategy, spec, budget,
                        id -> new String(m.tokenizer().tokenBytes(id), StandardCharsets.UTF_8)));
    }
}
