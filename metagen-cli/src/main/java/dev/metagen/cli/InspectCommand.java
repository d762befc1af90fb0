package dev.metagen.cli;

import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.hf.HfModel;
import dev.metagen.engine.gguf.GgufTensorInfo;
import dev.metagen.engine.gguf.GgufValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code metagen inspect MODEL}: a GGUF file's header, metadata and tensors. */
@Command(name = "inspect", description = "Print a GGUF file's metadata and tensors.")
final class InspectCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A .gguf path or hf:OWNER/REPO/FILE.gguf.")
    String model;

    @Option(names = "--json", description = "Print one JSON object (full metadata arrays included).")
    boolean json;

    @Option(names = "--max-array", defaultValue = "16", description = "Array elements shown in text mode (default: ${DEFAULT-VALUE}).")
    int maxArray;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile f = HfModel.openModel(ModelOption.resolve(model))) {
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("path", f.path().toString());
                o.put("version", f.version());
                o.put("alignment", f.alignment());
                o.put("data_offset", f.dataOffset());
                o.put("file_size", f.fileSize());
                Map<String, Object> meta = new LinkedHashMap<>();
                f.metadata().forEach((k, v) -> meta.put(k, v.toPlain()));
                o.put("metadata", meta);
                List<Map<String, Object>> tensors = new ArrayList<>();
                for (GgufTensorInfo t : f.tensors().values()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("name", t.name());
                    m.put("type", t.typeName());
                    m.put("shape", t.shape());
                    m.put("offset", t.offset());
                    m.put("bytes", t.type() != null ? t.byteSize() : null);
                    tensors.add(m);
                }
                o.put("tensors", tensors);
                out.println(Json.write(o));
                return 0;
            }
            if (f.isAssembled()) {
                out.printf("directory: %s (%,d bytes of tensors)%nHugging Face model directory, shown as the GGUF"
                        + " metadata and tensors llama.cpp's converter would write%n", f.path(), f.fileSize());
            } else {
                out.printf("file: %s (%,d bytes)%nGGUF version %d, alignment %d, tensor data at byte %,d%n",
                        f.path(), f.fileSize(), f.version(), f.alignment(), f.dataOffset());
            }
            out.printf("%nmetadata (%d):%n", f.metadata().size());
            for (Map.Entry<String, GgufValue> e : f.metadata().entrySet()) {
                GgufValue v = e.getValue();
                String type = v.elementType() != null ? "[" + v.elementType().name().toLowerCase() + "]" : v.type().name().toLowerCase();
                out.printf("  %-45s %-10s %s%n", e.getKey(), type, v.display(maxArray));
            }
            out.printf("%ntensors (%d):%n", f.tensors().size());
            Map<String, Long> byType = new TreeMap<>();
            long params = 0;
            for (GgufTensorInfo t : f.tensors().values()) {
                out.printf("  %-36s %-8s %-22s %,14d bytes%n", t.name(), t.typeName(), shape(t.shape()),
                        t.type() != null ? t.byteSize() : -1);
                byType.merge(t.typeName(), t.elementCount(), Long::sum);
                params += t.elementCount();
            }
            if (!f.tensors().isEmpty()) {
                out.printf("%nparameters: %,d (%s)%n", params, byType);
            }
        }
        return 0;
    }

    private static String shape(long[] s) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) {
            sb.append(i > 0 ? ", " : "").append(s[i]);
        }
        return sb.append(']').toString();
    }
}
