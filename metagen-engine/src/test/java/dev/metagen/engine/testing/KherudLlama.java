package dev.metagen.engine.testing;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import dev.metagen.engine.gguf.GgufFile;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * llama.cpp build 4916 in-process through {@code de.kherud:llama:4.2.0} (JNI): greedy generation of token ids.
 * Never sets n_probs ({@code setNProbs} aborts the JVM in this version), so it gives tokens, not probabilities.
 */
public final class KherudLlama implements AutoCloseable {

    private final LlamaModel model;
    /** Token piece bytes (as a Latin-1 string) to id, to turn streamed text pieces back into token ids. */
    private final Map<String, Integer> idOfPiece = new HashMap<>();
    private static final int TOKEN_TYPE_BYTE = 6;

    static {
        // llama.cpp logs every load and request to stderr; keep test output readable
        LlamaModel.setLogger(LogFormat.TEXT, (level, message) -> { });
    }

    /**
     * Loads {@code gguf} on {@code threads} CPU threads. The server streams text pieces, not ids, so every id is
     * decoded up front. A byte-fallback token ({@code <0x2C>}) decodes to the same bytes as a normal piece
     * ({@code ,}); SentencePiece only falls back to bytes for text with no piece, so the normal token wins such a
     * tie. Any other duplicate is marked ambiguous and fails when streamed.
     */
    public KherudLlama(Path gguf, int contextSize, int threads) {
        this.model = new LlamaModel(new ModelParameters()
                .setModel(gguf.toAbsolutePath().toString())
                .setCtxSize(contextSize)
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setGpuLayers(0)
                .setParallel(1)
                .skipWarmup()
                .disableLog());
        int[] types;
        try (GgufFile f = GgufFile.open(gguf)) {
            types = f.getIntArray("tokenizer.ggml.token_type");
        }
        Map<String, Integer> bytePieces = new HashMap<>();
        for (int id = 0; id < types.length; id++) {
            String piece = pieceOf(id);
            if (piece.isEmpty()) {
                continue; // control tokens decode to nothing and are never streamed
            }
            Map<String, Integer> target = types[id] == TOKEN_TYPE_BYTE ? bytePieces : idOfPiece;
            if (target.putIfAbsent(piece, id) != null) {
                target.put(piece, -1); // ambiguous
            }
        }
        bytePieces.forEach(idOfPiece::putIfAbsent);
    }

    /**
     * {@code n} greedy tokens after {@code prompt} (token ids, passed to llama.cpp's server as a JSON id array),
     * fewer if the model emits end-of-generation.
     */
    public int[] greedy(int[] prompt, int n) {
        InferenceParameters p = new InferenceParameters("")
                .setTemperature(0f)
                .setNPredict(n)
                .setSeed(1)
                .setCachePrompt(false);
        rawParameter(p, "prompt", Arrays.toString(prompt));
        int[] out = new int[n];
        int count = 0;
        for (LlamaOutput o : model.generate(p)) {
            if (o.text.isEmpty()) {
                continue; // the final "stop" message carries no token
            }
            Integer id = idOfPiece.get(latin1(o.text));
            if (id == null || id < 0) {
                throw new IllegalStateException("cannot map llama.cpp output piece " + Arrays.toString(o.text.getBytes())
                        + " at step " + count + " back to one token id" + (id == null ? "" : " (ambiguous piece)"));
            }
            out[count++] = id;
            if (count == n) {
                break;
            }
        }
        return Arrays.copyOf(out, count);
    }

    /**
     * The text of {@code n} greedy tokens after {@code prompt}, end-of-generation ignored. For vocabularies whose
     * byte tokens make ids unrecoverable from the streamed text (the server streams whole UTF-8 characters and
     * turns invalid bytes into U+FFFD), compare this with {@link #decode} of the other side's ids.
     */
    public String greedyText(int[] prompt, int n) {
        InferenceParameters p = new InferenceParameters("")
                .setTemperature(0f)
                .setNPredict(n)
                .setSeed(1)
                .setIgnoreEos(true)
                .setCachePrompt(false);
        rawParameter(p, "prompt", Arrays.toString(prompt));
        StringBuilder sb = new StringBuilder();
        for (LlamaOutput o : model.generate(p)) {
            sb.append(o.text);
        }
        return sb.toString();
    }

    /** llama.cpp's detokenization of {@code ids}, with the same conversion to a Java string as streamed text. */
    public String decode(int[] ids) {
        return model.decode(ids);
    }

    private String pieceOf(int id) {
        return latin1(model.decode(new int[] {id}));
    }

    private static String latin1(String s) {
        // pieces are compared as UTF-8 byte strings: byte tokens (<0x..>) are incomplete UTF-8 on their own
        return new String(s.getBytes(java.nio.charset.StandardCharsets.UTF_8), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    /**
     * Sets a raw JSON request field. 4.2.0's {@code setPrompt} only takes text, but llama.cpp's server accepts a
     * token-id array as the prompt; the parameter map is package-private, hence reflection.
     */
    @SuppressWarnings("unchecked")
    private static void rawParameter(InferenceParameters p, String key, String json) {
        try {
            Field f = p.getClass().getSuperclass().getDeclaredField("parameters");
            f.setAccessible(true);
            ((Map<String, String>) f.get(p)).put(key, json);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("de.kherud:llama changed its InferenceParameters layout", e);
        }
    }

    @Override
    public void close() {
        model.close();
    }
}
