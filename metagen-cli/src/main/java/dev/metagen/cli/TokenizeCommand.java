package dev.metagen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.hf.HfModel;
import dev.metagen.engine.tokenizer.GgufTokenizers;
import dev.metagen.engine.tokenizer.HfTokenizerFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code metagen tokenize}: text to token ids with the model's tokenizer (works on vocab-only GGUF files and on
 * directories holding only a Hugging Face tokenizer.json).
 */
@Command(name = "tokenize", description = "Tokenize text with a model's tokenizer (vocab-only GGUF files, and"
        + " directories with a Hugging Face tokenizer.json and tokenizer_config.json, work too).")
final class TokenizeCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOption model;

    @Option(names = {"-t", "--text"}, description = "Text to tokenize.")
    String text;

    @Option(names = "--json", description = "Print one JSON object {\"ids\": [...]}.")
    boolean json;

    @Option(names = "--jsonl", description = "Read one JSON string per line on stdin; print one {\"ids\": [...]} per line.")
    boolean jsonl;

    @Option(names = "--add-special", description = "Add BOS/EOS as the model's metadata asks.")
    boolean addSpecial;

    @Option(names = "--parse-special", description = "Recognise special-token text (e.g. <s>) as special tokens.")
    boolean parseSpecial;

    @Override
    public Integer call() throws IOException {
        if (jsonl == (text != null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "give exactly one of --text or --jsonl");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path path = model.resolve();
        if (Files.isDirectory(path) && !Files.exists(path.resolve("config.json"))) {
            // a directory of tokenizer files only: tokenizer.json (+ tokenizer_config.json), as Hugging Face reads them
            return tokenize(HfTokenizerFiles.load(path).tokenizer(), out);
        }
        // a GGUF file or a model directory: the ids the model is fed (a directory's vocabulary as convert writes it)
        try (GgufFile file = HfModel.openModel(path)) {
            return tokenize(GgufTokenizers.fromGguf(file), out);
        }
    }

    private int tokenize(Tokenizer tok, PrintWriter out) throws IOException {
        if (jsonl) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = Json.MAPPER.readTree(line);
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    throw new MetagenException("stdin line " + lineNo + ": not valid JSON: " + e.getOriginalMessage());
                }
                if (node == null || !node.isTextual()) {
                    throw new MetagenException("stdin line " + lineNo + ": expected a JSON string");
                }
                out.println(Json.write(Map.of("ids", tok.encode(node.textValue(), addSpecial, parseSpecial))));
            }
            return 0;
        }
        int[] ids = tok.encode(text, addSpecial, parseSpecial);
        if (json) {
            out.println(Json.write(Map.of("ids", ids)));
        } else {
            for (int id : ids) {
                out.printf("%6d  %s%n", id, printable(tok.tokenText(id)));
            }
        }
        return 0;
    }

    private static String printable(String s) {
        return '\'' + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '\'';
    }
}
