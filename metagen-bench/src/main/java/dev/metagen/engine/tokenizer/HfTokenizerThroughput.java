package dev.metagen.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.Tokenizer;
import dev.metagen.engine.testing.AlternatingRounds;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Manual timing, not a test: encode throughput (MB of UTF-8 per CPU second, one thread) of {@link HfTokenizer} on a
 * tokenizer.json against the llama.cpp-style {@link ByteLevelBpeTokenizer} built over the same vocabulary and
 * merges, and of the pre-tokenizer split alone: the Split regex on java.util.regex against llama.cpp's hand-written
 * splitter. The corpus is GSM8K's test split (questions and answers, one encode call per record).
 * Run from the repository root after {@code mvn -B -o -q -pl metagen-bench -am test-compile}:
 * {@code java -cp metagen-bench/target/classes:metagen-engine/target/classes:metagen-core/target/classes:JACKSON_JARS
 * dev.metagen.engine.tokenizer.HfTokenizerThroughput metagen-engine/src/test/resources/dev/metagen/engine/tokenizer/hf/llama3 llama3 ../shared/datasets/gsm8k/test.jsonl}
 */
public final class HfTokenizerThroughput {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String pre = args.length > 1 ? args[1] : "llama3";
        Path corpusFile = Path.of(args.length > 2 ? args[2] : "../shared/datasets/gsm8k/test.jsonl");
        long t0 = System.nanoTime();
        HfTokenizer hf = HfTokenizerFiles.load(dir).tokenizer();
        System.out.printf("load %s: %.0f ms%n", dir, (System.nanoTime() - t0) / 1e6);
        HfTokenizer.GgufVocab v = hf.ggufVocab();
        PreTokenizer.Spec spec = PreTokenizer.spec(pre);
        Tokenizer cpp = new ByteLevelBpeTokenizer(new Vocabulary(new Vocabulary.Metadata("same vocabulary", v.tokens(),
                null, v.tokenTypes(), pre, 11, 11, -1, -1, Map.of(), false, false, false, false, false)),
                v.merges(), new PreTokenizer(spec.regexes()), spec.ignoreMerges());

        ObjectMapper json = new ObjectMapper();
        List<String> corpus = new ArrayList<>();
        long bytes = 0;
        for (String line : Files.readAllLines(corpusFile)) {
            JsonNode n = json.readTree(line);
            for (String f : new String[]{"question", "answer"}) {
                String s = n.path(f).asText();
                corpus.add(s);
                bytes += s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        int same = 0;
        long tokens = 0;
        for (String s : corpus) {
            int[] a = hf.encode(s, false, false);
            tokens += a.length;
            same += Arrays.equals(a, cpp.encode(s, false, false)) ? 1 : 0;
        }
        System.out.printf("corpus %s: %d texts, %.2f MB, %d tokens; identical ids for %d of %d texts%n",
                corpusFile, corpus.size(), bytes / 1e6, tokens, same, corpus.size());

        HfComponents.Splitter split = HfComponents.preTokenizer("bench", json.readTree(
                "{\"type\": \"Split\", \"behavior\": \"Isolated\", \"pattern\": {\"Regex\": "
                        + json.writeValueAsString(hfPattern(pre)) + "}}"));
        PreTokenizer custom = new PreTokenizer(spec.regexes());
        long[] sink = new long[1];
        double[] s = AlternatingRounds.bestSecondsPerRun(1, 3, 2_000_000_000L, AlternatingRounds::threadCpuNanos,
                () -> {
                    hf.clearCache();
                    for (String t : corpus) {
                        sink[0] += hf.encode(t, false, false).length;
                    }
                },
                () -> {
                    for (String t : corpus) {
                        sink[0] += hf.encode(t, false, false).length;
                    }
                },
                () -> {
                    for (String t : corpus) {
                        sink[0] += cpp.encode(t, false, false).length;
                    }
                },
                () -> {
                    List<String> out = new ArrayList<>();
                    for (String t : corpus) {
                        out.clear();
                        split.split(t, true, out);
                        sink[0] += out.size();
                    }
                },
                () -> {
                    for (String t : corpus) {
                        sink[0] += custom.splitLengths(t.codePoints().toArray()).length;
                    }
                });
        String[] names = {"HfTokenizer encode, BPE cache cleared per pass", "HfTokenizer encode, warm BPE cache",
                "llama.cpp-style ByteLevelBpeTokenizer encode", "Split regex on java.util.regex (split only)",
                "llama.cpp hand-written splitter (split only)"};
        for (int i = 0; i < s.length; i++) {
            System.out.printf("%-50s %8.2f MB/s %10.0f tokens/s%n", names[i], bytes / 1e6 / s[i],
                    i < 3 ? tokens / s[i] : Double.NaN);
        }
        System.out.println("(sink " + sink[0] + ")");
    }

    /** The Split regex of Hugging Face's tokenizer.json for these pre-tokenizers. */
    private static String hfPattern(String pre) {
        String digits = pre.equals("qwen2") ? "\\p{N}" : "\\p{N}{1,3}";
        return "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" + digits
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    }
}
