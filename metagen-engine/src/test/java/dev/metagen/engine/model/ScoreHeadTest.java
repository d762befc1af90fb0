package dev.metagen.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.ModelState;
import dev.metagen.core.ScoreHead;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.testing.LlamaCppModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Score heads ({@code cls.output}) of synthesized reward models: the head's arithmetic against a computation by hand
 * from the model's hidden states, and the whole path against llama.cpp's ranking context.
 */
class ScoreHeadTest {
    private static final int[] SEQ = {1, 17, 250, 33, 400, 12, 99, 7, 301, 45};

    private static Path synth(Path dir, String arch, List<String> labels) {
        Path p = dir.resolve(arch + "-head.gguf");
        ModelSynthesizer.builder().architecture(arch).embd(64).heads(4).kvHeads(2).layers(2).vocab(512)
                .seed(7).logitScale(0.05).scoreHead(labels).build().write(p); // head outputs of order one, not saturated
        return p;
    }

    /** The head's rows, read from the file: row j is output j's weights. */
    private static float[][] headRows(Path file, int outputs, int embd) {
        try (GgufFile f = GgufFile.open(file)) {
            float[] w = f.matrix(f.tensorInfo("cls.output.weight")).toFloatArray();
            float[][] rows = new float[outputs][];
            for (int j = 0; j < outputs; j++) {
                rows[j] = Arrays.copyOfRange(w, j * embd, (j + 1) * embd);
            }
            return rows;
        }
    }

    /** The final-norm hidden state after each prefix, from ordinary forwards (not the head's path). */
    private static float[] hiddenAfter(TransformerModel m, int length) {
        try (ModelState s = m.newState()) {
            m.forward(s, Arrays.copyOf(SEQ, length));
            return m.lastHiddenState(s);
        }
    }

    @Test
    void qwen3HeadIsSoftmaxOfTheProjectedHiddenState(@TempDir Path dir) {
        Path p = synth(dir, "qwen3", List.of("yes", "no"));
        try (TransformerModel m = TransformerModel.load(p)) {
            ScoreHead head = m.scoreHead().orElseThrow();
            assertEquals(List.of("yes", "no"), head.labels());
            float[][] rows = headRows(p, 2, 64);
            float[][] all = head.scorePositions(SEQ);
            assertEquals(SEQ.length, all.length);
            for (int i = 0; i < SEQ.length; i++) {
                float[] h = hiddenAfter(m, i + 1);
                double a = dot(rows[0], h);
                double b = dot(rows[1], h);
                double yes = 1 / (1 + Math.exp(b - a)); // softmax of two
                assertEquals(yes, all[i][0], 1e-5, "p(yes) at position " + i);
                assertEquals(1 - yes, all[i][1], 1e-5, "p(no) at position " + i);
            }
            assertArrayEquals(all[SEQ.length - 1], head.score(SEQ), "the sequence score pools the last token");
        }
    }

    @Test
    void llamaHeadIsTheRawProjection(@TempDir Path dir) {
        Path p = synth(dir, "llama", List.of("reward"));
        try (TransformerModel m = TransformerModel.load(p)) {
            ScoreHead head = m.scoreHead().orElseThrow();
            float[] w = headRows(p, 1, 64)[0];
            float[][] all = head.scorePositions(SEQ);
            for (int i = 0; i < SEQ.length; i++) {
                double expected = dot(w, hiddenAfter(m, i + 1));
                assertEquals(expected, all[i][0], 1e-5 * Math.max(1, Math.abs(expected)), "reward at position " + i);
            }
        }
    }

    /** Sequences longer than a KV block, scored twice: the second time the prefix cache holds their blocks. */
    @Test
    void longSequencesScoreEveryPositionAlsoWithThePrefixCacheWarm(@TempDir Path dir) {
        Path p = synth(dir, "llama", List.of("reward"));
        int n = 3 * KvBlockPool.BLOCK + 5;
        int[] seq = new int[n];
        for (int i = 0; i < n; i++) {
            seq[i] = 1 + (i * 37) % 500;
        }
        try (TransformerModel m = TransformerModel.load(p)) {
            ScoreHead head = m.scoreHead().orElseThrow();
            try (ModelState warm = m.newState()) {
                m.forward(warm, seq); // puts the sequence's full blocks in the prefix cache
            }
            float[][] first = head.scorePositions(seq);
            float[][] again = head.scorePositions(seq);
            assertEquals(n, first.length);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(first[i], again[i], "position " + i);
            }
            float[] w = headRows(p, 1, 64)[0];
            for (int i : new int[]{0, KvBlockPool.BLOCK - 1, KvBlockPool.BLOCK, 2 * KvBlockPool.BLOCK + 3, n - 1}) {
                try (ModelState s = m.newState()) {
                    for (int t = 0; t <= i; t++) {
                        m.forward(s, seq[t]); // one token at a time: no prefix cache, no batching
                    }
                    double expected = dot(w, m.lastHiddenState(s));
                    assertEquals(expected, first[i][0], 1e-4 * Math.max(1, Math.abs(expected)), "position " + i);
                }
            }
        }
    }

    @Test
    void modelsWithoutHeadHaveNone(@TempDir Path dir) {
        Path p = dir.resolve("plain.gguf");
        ModelSynthesizer.builder().embd(32).heads(2).layers(1).vocab(512).build().write(p);
        try (TransformerModel m = TransformerModel.load(p)) {
            assertFalse(m.scoreHead().isPresent());
        }
    }

    /**
     * llama.cpp (node-llama-cpp 3.22.1's ranking context: RANK pooling, last token, softmax for qwen3) on the same
     * file. Tolerance 2e-3 on probabilities: llama.cpp's ranking context keeps its KV cache in F16, which rounds
     * every cached key and value, where the engine keeps F32.
     */
    @Test
    void matchesLlamaCppRankingContext(@TempDir Path dir) throws Exception {
        Path p = synth(dir, "qwen3", List.of("yes", "no"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode req = json.createObjectNode().put("model", p.toString()).put("contextSize", 64);
        ArrayNode seqs = req.putArray("sequences");
        for (int n = 1; n <= SEQ.length; n++) {
            ArrayNode a = seqs.addArray();
            for (int i = 0; i < n; i++) {
                a.add(SEQ[i]);
            }
        }
        ObjectNode pair = req.putArray("pairs").addObject();
        pair.putArray("query").add(40).add(41).add(42);
        pair.putArray("document").add(300).add(301).add(302).add(303);
        JsonNode out = runRank(json, req);
        assertEquals("[\"yes\",\"no\"]", out.path("labels").toString());
        try (TransformerModel m = TransformerModel.load(p)) {
            ScoreHead head = m.scoreHead().orElseThrow();
            float[][] mine = head.scorePositions(SEQ);
            double worst = 0;
            double spread = 0;
            for (int n = 1; n <= SEQ.length; n++) {
                JsonNode ref = out.path("sequences").get(n - 1);
                assertEquals(2, ref.size());
                float[] pooled = head.score(Arrays.copyOf(SEQ, n));
                spread = Math.max(spread, Math.abs(pooled[0] - 0.5));
                for (int j = 0; j < 2; j++) {
                    worst = Math.max(worst, Math.abs(ref.get(j).asDouble() - pooled[j]));
                    assertEquals(ref.get(j).asDouble(), pooled[j], 2e-3, "pooled score " + j + " of the first " + n + " tokens");
                    // causal attention: the score at position n-1 of the whole sequence is the pooled score of its prefix
                    assertEquals(ref.get(j).asDouble(), mine[n - 1][j], 2e-3, "score " + j + " at position " + (n - 1));
                }
            }
            JsonNode r = out.path("pairs").get(0);
            int[] input = new int[r.path("input").size()];
            for (int i = 0; i < input.length; i++) {
                input[i] = r.path("input").get(i).asInt();
            }
            assertTrue(input.length >= 7, "the ranking input holds query and document: " + r.path("input"));
            float[] s = head.score(input);
            assertEquals(r.path("rank").asDouble(), s[0], 2e-3, "rank(query, document) is p(yes) of the ranking input");
            assertTrue(spread > 0.01 && spread < 0.49, "scores neither flat nor saturated: " + spread);
            System.out.println("score head vs llama.cpp: worst difference " + worst);
        }
    }

    private static JsonNode runRank(ObjectMapper json, ObjectNode req) throws IOException, InterruptedException {
        Path harness = LlamaCppModel.harnessDirectory();
        Process proc = new ProcessBuilder("node", "rank.mjs").directory(harness.toFile()).start();
        proc.getOutputStream().write(json.writeValueAsBytes(req));
        proc.getOutputStream().close();
        byte[] stdout = proc.getInputStream().readAllBytes();
        String stderr = new String(proc.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(120, TimeUnit.SECONDS), "rank.mjs timed out");
        assertEquals(0, proc.exitValue(), "rank.mjs failed: " + stderr);
        return json.readTree(stdout);
    }

    private static double dot(float[] w, float[] h) {
        double s = 0;
        for (int i = 0; i < w.length; i++) {
            s += (double) w[i] * h[i];
        }
        return s;
    }
}
