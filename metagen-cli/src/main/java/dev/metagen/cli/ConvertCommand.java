package dev.metagen.cli;

import dev.metagen.engine.hf.HfConverter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code metagen convert}: a Hugging Face model directory to GGUF, as llama.cpp's convert_hf_to_gguf.py writes it. */
@Command(name = "convert", description = "Convert a Hugging Face model directory (or hf:OWNER/REPO) to a GGUF file llama.cpp loads.")
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Model directory (config.json, *.safetensors, tokenizer.json) or hf:OWNER/REPO.")
    String input;

    @Parameters(index = "1", paramLabel = "OUT.gguf", description = "GGUF file to write.")
    Path output;

    @Option(names = "--type", defaultValue = "f16", paramLabel = "TYPE",
            description = "Type of the 2-D weights: f32, f16, bf16 or q8_0 (1-D tensors stay f32; default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--force", description = "Overwrite the output file if it exists.")
    boolean force;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Override
    public Integer call() {
        Path dir = ModelResolution.resolve(input);
        HfConverter.Result r = HfConverter.convert(dir, output, type, force);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Integer> types = new TreeMap<>();
        r.typeCounts().forEach((t, n) -> types.put(t.name(), n));
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("input", dir.toString());
            o.put("output", r.output().toString());
            o.put("bytes", r.bytes());
            o.put("tensors", r.tensors());
            o.put("tensor_types", types);
            o.put("seconds", r.seconds());
            out.println(Json.write(o));
        } else {
            out.printf("wrote %s: %,d bytes, %d tensors %s, in %.1f s%n", r.output(), r.bytes(), r.tensors(), types, r.seconds());
        }
        return 0;
    }
}
