package dev.metagen.engine.gguf;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;
import dev.metagen.engine.tensor.TypeKernels;
import dev.metagen.engine.tensor.UnsupportedTensorTypeException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A corpus of corrupt GGUF files made from stories260K.gguf and a sample file: every one is rejected by
 * {@link GgufFile#open} with a {@link MetagenException} whose message is one line naming the file and the problem;
 * nothing else (IndexOutOfBounds, OOM, a crash) ever escapes, also under a seeded random byte-flip fuzz.
 */
class GgufBadInputTest {

    private static final ModelOptions OPTIONS = new ModelOptions(1, 64);

    @TempDir
    static Path dir;

    private static byte[] stories;
    private static long lastTensorEnd;
    private static long dataOffset;
    private static int counter;

    @BeforeAll
    static void load() throws IOException {
        stories = Files.readAllBytes(SharedData.stories260k());
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            dataOffset = f.dataOffset();
            lastTensorEnd = f.tensors().values().stream().mapToLong(t -> f.dataOffset() + t.offset() + t.byteSize()).max().orElseThrow();
        }
    }

    // ---- truncation -------------------------------------------------------------------------------------------

    @Test
    void truncatedAnywhereBeforeTheLastTensorEndIsRejected() {
        TreeSet<Long> cuts = new TreeSet<>(List.of(0L, 1L, 3L, 4L, 7L, 8L, 15L, 16L, 23L, 24L, 31L, 32L, 52L, 56L));
        for (long c = 0; c < dataOffset; c += 61) {
            cuts.add(c); // every 61 bytes: inside keys, values, the token arrays and the tensor infos
        }
        long tensorInfos = findString(stories, "token_embd.weight", 0);
        for (long c = tensorInfos - 9; c < tensorInfos + 60; c++) {
            cuts.add(c); // byte by byte through the first tensor info
        }
        cuts.addAll(List.of(dataOffset - 1, dataOffset, dataOffset + 1, dataOffset + 4096, stories.length / 2L,
                lastTensorEnd - 4, lastTensorEnd - 1));
        for (long cut : cuts) {
            String msg = rejected(java.util.Arrays.copyOf(stories, (int) cut), "cut" + cut);
            if (cut >= dataOffset) {
                assertTrue(msg.contains("extends past the end of the file"), msg);
            } else if (cut > 24) {
                assertTrue(msg.contains("truncated") || msg.contains("more than the file holds")
                        || msg.contains("past the end of the file") || msg.contains("larger than the file can hold"), msg);
            }
        }
        assertTrue(cuts.size() > 300, "corpus size " + cuts.size());
    }

    @Test
    void emptyFileAndDirectoryAndMissingFileAreRejected() throws IOException {
        expectRejected(new byte[0], "empty", "too short");
        assertTrue(oneLine(assertThrows(MetagenException.class, () -> GgufFile.open(dir))).contains("directory"));
        Path missing = dir.resolve("nope.gguf");
        assertTrue(oneLine(assertThrows(MetagenException.class, () -> GgufFile.open(missing))).contains("not found"));
        Path unreadable = Files.writeString(dir.resolve("text.gguf"), "hello, not a model\n");
        assertTrue(oneLine(assertThrows(MetagenException.class, () -> GgufFile.open(unreadable))).contains("bad magic"));
    }

    // ---- header -----------------------------------------------------------------------------------------------

    @Test
    void wrongMagicIsRejected() {
        for (int i = 0; i < 4; i++) {
            byte[] b = stories.clone();
            b[i] ^= (byte) 0xFF;
            expectRejected(b, "magic" + i, "not a GGUF file (bad magic");
        }
        byte[] b = stories.clone();
        b[0] = 'g';
        expectRejected(b, "magic-lower", "\"gGUF\"");
    }

    @Test
    void unsupportedVersionsAreRejected() {
        expectRejected(withInt(stories, 4, 1), "v1", "GGUF version 1 is not supported");
        expectRejected(withInt(stories, 4, 99), "v99", "unsupported GGUF version 99 at byte 4");
        expectRejected(withInt(stories, 4, 0), "v0", "unsupported GGUF version 0");
        expectRejected(withInt(stories, 4, -1), "vmax", "unsupported GGUF version 4294967295");
        expectRejected(withInt(stories, 4, Integer.reverseBytes(3)), "vbig", "big-endian");
    }

    @Test
    void absurdCountsAreRejected() {
        expectRejected(withLong(stories, 8, 1L << 40), "tensors", "tensor count 1099511627776");
        expectRejected(withLong(stories, 8, -1), "tensors-neg", "tensor count 18446744073709551615");
        expectRejected(withLong(stories, 16, 1L << 40), "kvs", "metadata count");
        expectRejected(withLong(stories, 16, Long.MIN_VALUE), "kvs-neg", "metadata count");
        // one more pair than the file holds: runs into the tensor infos and fails there, still cleanly
        rejected(withLong(stories, 16, 20), "kvs+1");
        rejected(withLong(stories, 8, 49), "tensors+1");
    }

    @Test
    void flippedHeaderBytesAreRejected() {
        // every single-bit flip of the 24-byte header (magic, version, counts) makes the file invalid
        for (int i = 0; i < 24; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] b = stories.clone();
                b[i] ^= (byte) (1 << bit);
                if (i == 4 && bit == 0) {
                    continue; // version 3 -> 2: the same layout, a valid file
                }
                if (i >= 8 && i < 16 && (b[i] & 0xFF) < (stories[i] & 0xFF)) {
                    continue; // fewer tensors than stored can be a valid file that ignores the last infos
                }
                // fewer metadata pairs make the parser read a key as a tensor name: rejected there
                rejected(b, "flip" + i + "." + bit);
            }
        }
    }

    // ---- metadata ---------------------------------------------------------------------------------------------

    @Test
    void absurdStringLengthsAreRejected() {
        assertEquals(24, findString(stories, "tokenizer.ggml.tokens", 0), "the first key");
        for (long len : new long[] {-1, 1L << 62, stories.length, 1L << 31}) {
            String msg = rejected(withLong(stories, 24, len), "keylen" + len);
            assertTrue(msg.contains("string (metadata key) at byte 24 claims " + Long.toUnsignedString(len) + " bytes"), msg);
        }
        int value = findString(stories, "general.architecture", 0) + 8 + 20 + 4; // the string value "llama"
        String msg = rejected(withLong(stories, value, 1L << 40), "vallen");
        assertTrue(msg.contains("general.architecture") && msg.contains("claims 1099511627776 bytes"), msg);
    }

    @Test
    void absurdArrayLengthsAreRejected() {
        int key = findString(stories, "tokenizer.ggml.tokens", 0);
        int count = key + 8 + 21 + 4 + 4;
        assertEquals(512, ByteBuffer.wrap(stories, count, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        for (long n : new long[] {-1, 1L << 40, Integer.MAX_VALUE, stories.length}) {
            String msg = rejected(withLong(stories, count, n), "arrlen" + n);
            assertTrue(msg.contains("metadata tokenizer.ggml.tokens claims " + Long.toUnsignedString(n) + " elements"), msg);
        }
        // one element too many runs past the strings into the next key: still a clean error
        rejected(withLong(stories, count, 513), "arrlen513");
        int scores = findString(stories, "tokenizer.ggml.scores", 0) + 8 + 21 + 4 + 4;
        String msg = rejected(withLong(stories, scores, 1L << 30), "scores");
        assertTrue(msg.contains("metadata tokenizer.ggml.scores claims 1073741824 elements"), msg);
    }

    @Test
    void unknownValueTypesAreRejected() {
        int type = 24 + 8 + 21;
        for (int t : new int[] {13, 99, -1}) {
            String msg = rejected(withInt(stories, type, t), "vtype" + t);
            assertTrue(msg.contains("metadata tokenizer.ggml.tokens has unknown value type " + t + " (at byte 53)"), msg);
        }
        int elem = findString(stories, "tokenizer.ggml.tokens", 0) + 8 + 21 + 4;
        String msg = rejected(withInt(stories, elem, 77), "etype");
        assertTrue(msg.contains("metadata tokenizer.ggml.tokens is an array of unknown type 77"), msg);
    }

    @Test
    void badValuesInWrittenFilesAreRejected() {
        GgufWriter w = SampleGguf.writer();
        w.put("general.alignment", GgufValue.ofUInt32(4)); // the writer refuses 3: patch the value
        byte[] a = read(w, "align3");
        a[findString(a, "general.alignment", 0) + 8 + 17 + 4] = 3;
        expectRejected(a, "align3", "general.alignment must be a power of two, got 3");
        w = SampleGguf.writer();
        w.put("general.alignmenX", GgufValue.of("32")); // the writer refuses a string alignment: patch the name
        byte[] s = read(w, "alignstr");
        s[findString(s, "general.alignmenX", 0) + 8 + 16] = 't';
        expectRejected(s, "alignstr", "general.alignment must be a power of two, got \"32\"");
        // a bool byte that is neither 0 nor 1
        Path ok = SampleGguf.write(dir.resolve("sample-ok.gguf"));
        byte[] b = read(ok);
        int bool = findString(b, "bool", 0) + 8 + 4 + 4;
        b[bool] = 7;
        expectRejected(b, "bool7", "metadata bool has an invalid bool byte 7");
        // duplicate keys: rename "i8" to "u8"
        b = read(ok);
        int i8 = findString(b, "i8", 0);
        b[i8 + 8] = 'u';
        expectRejected(b, "dupkey", "duplicate metadata key u8");
        // nested arrays deeper than the parser allows
        GgufValue deep = GgufValue.ofInt32Array(new int[] {1});
        for (int i = 0; i < 12; i++) {
            deep = new GgufValue(GgufValueType.ARRAY, GgufValueType.ARRAY, List.of(deep));
        }
        w = SampleGguf.writer();
        w.put("deep", deep);
        assertTrue(rejectedFile(w, "deep").contains("metadata deep nests arrays too deeply"));
    }

    @Test
    void controlCharactersAndHugeNamesStayOnOneShortLine() {
        // a key full of newlines, then an unknown type: the message must still be one line, and not 100 kB long
        GgufWriter w = new GgufWriter();
        w.putString("evil\nkey\r\u0000" + "x".repeat(100_000), "v");
        Path p = dir.resolve("evil-src.gguf");
        w.write(p);
        byte[] b = read(p);
        int type = 24 + 8 + ("evil\nkey\r\u0000" + "x".repeat(100_000)).getBytes(StandardCharsets.UTF_8).length;
        String msg = rejected(withInt(b, type, 55), "evil");
        assertTrue(msg.length() < 1000, "message length " + msg.length());
        assertTrue(msg.contains("unknown value type 55"), msg);
        assertTrue(msg.contains("evil\\nkey\\r\\x00"), msg);
    }

    // ---- tensor infos -----------------------------------------------------------------------------------------

    @Test
    void absurdTensorShapesAndOffsetsAreRejected() {
        int q = findString(stories, "blk.0.attn_q.weight", findString(stories, "token_embd.weight", 0));
        int nDims = q + 8 + 19;
        int dim0 = nDims + 4, dim1 = dim0 + 8, type = dim1 + 8, offset = type + 4;
        assertEquals(2, ByteBuffer.wrap(stories, nDims, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        expectRejected(withInt(stories, nDims, 5), "ndims5", "tensor blk.0.attn_q.weight has 5 dimensions (1 to 4 allowed)");
        expectRejected(withInt(stories, nDims, 0), "ndims0", "has 0 dimensions");
        expectRejected(withInt(stories, nDims, -3), "ndimsneg", "has -3 dimensions");
        expectRejected(withLong(stories, dim0, 0), "dim0", "tensor blk.0.attn_q.weight has an absurd dimension 0");
        expectRejected(withLong(stories, dim1, -1), "dimneg", "absurd dimension 18446744073709551615");
        expectRejected(withLong(stories, dim1, 1L << 50), "dimhuge", "absurd dimension 1125899906842624");
        byte[] overflow = withLong(withLong(stories, dim0, 1L << 40), dim1, 1L << 40);
        expectRejected(overflow, "overflow", "tensor blk.0.attn_q.weight has too many elements");
        // a large but representable shape: its bytes do not fit in the file
        expectRejected(withLong(stories, dim1, 1L << 30), "big", "tensor blk.0.attn_q.weight (F32, 274877906944 bytes at data offset 262400) extends past the end of the file");
        expectRejected(withLong(stories, offset, 65536 + 1), "unaligned", "offset 65537 that is not a multiple of the alignment 32");
        expectRejected(withLong(stories, offset, 1L << 40), "far", "extends past the end of the file");
        expectRejected(withLong(stories, offset, -32), "negoff", "offset 18446744073709551584");
        // a type whose block does not divide the row length (Q4_K blocks hold 256 values, rows here have 64)
        expectRejected(withInt(stories, type, GgmlType.Q4_K.id), "q4k", "has row length 64, not a multiple of its block size 256");
        // duplicate tensor names: rename blk.0.attn_q to blk.0.attn_k (the next info)
        byte[] dup = stories.clone();
        dup[q + 8 + 11] = 'k';
        expectRejected(dup, "duptensor", "duplicate tensor name blk.0.attn_k.weight");
    }

    @Test
    void unknownTensorTypeFailsOnlyWhenTheTensorIsUsed() {
        int q = findString(stories, "blk.0.attn_q.weight", findString(stories, "token_embd.weight", 0));
        int type = q + 8 + 19 + 4 + 16;
        Path p = write(withInt(stories, type, 99), "type99");
        try (GgufFile f = GgufFile.open(p)) {
            GgufTensorInfo t = f.tensorInfo("blk.0.attn_q.weight");
            assertNull(t.type());
            assertEquals("type#99", t.typeName());
            MetagenException e = assertThrows(MetagenException.class, () -> f.tensorData(t));
            assertEquals(p + ": tensor blk.0.attn_q.weight has unknown ggml type id 99", oneLine(e));
            assertThrows(MetagenException.class, () -> f.matrix(t));
            // the other tensors are still usable
            assertEquals(64 * 4, f.tensorData(f.tensorInfo("blk.0.attn_norm.weight")).byteSize());
        }
        // a known type that metagen cannot compute with (Q8_1): the error names tensor and type
        p = write(withInt(stories, type, GgmlType.Q8_1.id), "q81");
        try (GgufFile f = GgufFile.open(p)) {
            GgufTensorInfo t = f.tensorInfo("blk.0.attn_q.weight");
            UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class, () -> TypeKernels.of(t.type(), t.name()));
            assertTrue(oneLine(e).contains("tensor blk.0.attn_q.weight has type Q8_1"), e.getMessage());
        }
    }

    @Test
    void rewrittenWithoutTokenizerStillOpens() {
        // the GGUF layer does not judge what a model needs: the missing key is reported by whoever requires it
        Path p = dir.resolve("no-tokenizer.gguf");
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> {
                if (!k.equals("tokenizer.ggml.tokens")) {
                    w.put(k, v);
                }
            });
            for (GgufTensorInfo t : f.tensors().values()) {
                w.addTensor(t.name(), t.shape(), t.type(), () -> f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            w.write(p);
        }
        try (GgufFile f = GgufFile.open(p)) {
            assertNull(f.getStringArray("tokenizer.ggml.tokens"));
            MetagenException e = assertThrows(MetagenException.class, () -> f.requireString("tokenizer.ggml.tokens"));
            assertEquals(p + ": required metadata key tokenizer.ggml.tokens is missing", oneLine(e));
            e = assertThrows(MetagenException.class, () -> f.requireInt("llama.embedding_length_x"));
            assertTrue(oneLine(e).contains("llama.embedding_length_x is missing"));
            e = assertThrows(MetagenException.class, () -> f.getInt("general.architecture", 0));
            assertEquals(p + ": metadata general.architecture should be an integer but is STRING", oneLine(e));
        }
    }

    // ---- model loading ----------------------------------------------------------------------------------------

    @Test
    void modelLoadingNamesTheTensorAndTypeItCannotUse() {
        int q = findString(stories, "blk.0.attn_q.weight", findString(stories, "token_embd.weight", 0));
        int type = q + 8 + 19 + 4 + 16;
        Path p = write(withInt(stories, type, 99), "model-type99");
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(p, OPTIONS).close());
        assertEquals(p + ": tensor blk.0.attn_q.weight has unknown ggml type id 99", oneLine(e));
        Path q81 = write(withInt(stories, type, GgmlType.Q8_1.id), "model-q81");
        e = assertThrows(MetagenException.class, () -> TransformerModel.load(q81, OPTIONS).close());
        assertTrue(oneLine(e).contains("blk.0.attn_q.weight") && e.getMessage().contains("Q8_1"), e.getMessage());
    }

    @Test
    void modelLoadingRejectsMissingTokenizerAndUnsupportedArchitecture() {
        Path noTok = rewrite("model-no-tokenizer", Map.of("tokenizer.ggml.tokens", Optional.empty()));
        try (TransformerModel m = TransformerModel.load(noTok, OPTIONS)) {
            MetagenException e = assertThrows(MetagenException.class, m::tokenizer);
            assertTrue(oneLine(e).contains(noTok.toString()) && e.getMessage().contains("tokenizer.ggml.tokens"), e.getMessage());
        } catch (MetagenException e) {
            // refusing at load time is as good, if it names the file and the key
            assertTrue(oneLine(e).contains(noTok.toString()) && e.getMessage().contains("tokenizer.ggml.tokens"), e.getMessage());
        }
        Path mamba = rewrite("model-mamba", Map.of("general.architecture", Optional.of(GgufValue.of("mamba"))));
        MetagenException e = assertThrows(MetagenException.class, () -> TransformerModel.load(mamba, OPTIONS).close());
        assertTrue(oneLine(e).startsWith(mamba + ": ") && e.getMessage().contains("unsupported architecture 'mamba'"), e.getMessage());
        Path noArch = rewrite("model-no-arch", Map.of("general.architecture", Optional.empty()));
        e = assertThrows(MetagenException.class, () -> TransformerModel.load(noArch, OPTIONS).close());
        assertTrue(oneLine(e).contains("general.architecture is missing"), e.getMessage());
        // hyper-parameters that contradict the tensors or each other
        for (var bad : List.of(
                Map.entry("llama.attention.head_count", GgufValue.ofUInt32(0)),
                Map.entry("llama.attention.head_count_kv", GgufValue.ofUInt32(3)),
                Map.entry("llama.embedding_length", GgufValue.ofUInt32(96)),
                Map.entry("llama.block_count", GgufValue.ofUInt32(6)),
                Map.entry("llama.block_count", GgufValue.ofUInt32(Integer.MAX_VALUE)),
                Map.entry("llama.feed_forward_length", GgufValue.ofUInt32(173)),
                Map.entry("llama.context_length", GgufValue.ofUInt32(0)),
                Map.entry("llama.rope.dimension_count", GgufValue.ofUInt32(7)),
                Map.entry("llama.embedding_length", GgufValue.of("64")))) {
            Path p = rewrite("model-" + bad.getKey() + "-" + bad.getValue().value(), Map.of(bad.getKey(), Optional.of(bad.getValue())));
            try (TransformerModel m = TransformerModel.load(p, OPTIONS)) {
                fail(bad + " was accepted");
            } catch (MetagenException ex) {
                assertTrue(oneLine(ex).startsWith(p + ": "), ex.getMessage());
            } catch (Throwable t) {
                throw new AssertionError(bad + ": escaped as " + t, t);
            }
        }
    }

    @Test
    void randomByteFlipsThroughModelLoadingOnlyRaiseMetagenException() {
        Random rnd = new Random(7_2026);
        int loaded = 0, rejected = 0;
        for (int i = 0; i < 150; i++) {
            byte[] b = stories.clone();
            for (int k = 0, flips = 1 + rnd.nextInt(4); k < flips; k++) {
                int at = rnd.nextInt((int) dataOffset);
                b[at] ^= (byte) (1 << rnd.nextInt(8));
            }
            Path p = write(b, "model-fuzz" + i);
            try (TransformerModel m = TransformerModel.load(p, OPTIONS)) {
                m.tokenizer().encode("Once upon a time", true, false);
                m.forward(m.newState(), 1, 403, 407);
                loaded++;
            } catch (MetagenException e) {
                rejected++;
                oneLine(e);
            } catch (Throwable t) {
                fail("mutation " + i + " escaped as " + t, t);
            }
        }
        assertTrue(loaded > 10 && rejected > 10, "loaded " + loaded + ", rejected " + rejected);
    }

    /** stories260K rewritten by GgufWriter with some keys replaced ({@code Optional.empty()} removes the key). */
    private static Path rewrite(String name, Map<String, Optional<GgufValue>> changes) {
        Path p = dir.resolve(name + "-" + (counter++) + ".gguf");
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            GgufWriter w = new GgufWriter();
            f.metadata().forEach((k, v) -> {
                Optional<GgufValue> c = changes.get(k);
                if (c == null) {
                    w.put(k, v);
                } else {
                    c.ifPresent(x -> w.put(k, x));
                }
            });
            changes.forEach((k, v) -> {
                if (!f.metadata().containsKey(k)) {
                    v.ifPresent(x -> w.put(k, x));
                }
            });
            for (GgufTensorInfo t : f.tensors().values()) {
                w.addTensor(t.name(), t.shape(), t.type(), () -> f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            w.write(p);
        }
        return p;
    }

    // ---- fuzz -------------------------------------------------------------------------------------------------

    @Test
    void randomByteFlipsOnlyEverRaiseMetagenException() {
        Random rnd = new Random(20261127);
        byte[] sample = read(SampleGguf.write(dir.resolve("fuzz-sample.gguf")));
        Path synthPath = dir.resolve("fuzz-synth.gguf");
        ModelSynthesizer.builder().preset("tiny-qwen3").type("Q4_K_M").seed(3).build().write(synthPath);
        byte[] synth = read(synthPath);
        long synthData;
        try (GgufFile f = GgufFile.open(synthPath)) {
            synthData = f.dataOffset();
        }
        int opened = 0, rejected = 0;
        for (int i = 0; i < 400; i++) {
            // stories260K, a sample with every value type, and a synthesized qwen3 in the Q4_K_M mix
            byte[] source = switch (i % 4) {
                case 0 -> stories;
                case 1 -> synth;
                default -> sample;
            };
            byte[] b = source.clone();
            // mutate the header region (the tensor data is opaque bytes to the parser)
            int region = source == stories ? (int) dataOffset : source == synth ? (int) synthData : b.length;
            int flips = 1 + rnd.nextInt(8);
            for (int k = 0; k < flips; k++) {
                int at = rnd.nextInt(region);
                switch (rnd.nextInt(4)) {
                    case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                    case 1 -> b[at] = (byte) rnd.nextInt(256);
                    case 2 -> b[at] = (byte) 0xFF;
                    default -> b[at] = 0;
                }
            }
            if (rnd.nextInt(8) == 0) {
                b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            Path p = write(b, "fuzz" + i);
            try (GgufFile f = GgufFile.open(p)) {
                opened++;
                exercise(f); // whatever opened must also be readable without surprises
            } catch (MetagenException e) {
                rejected++;
                oneLine(e);
                assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            } catch (Throwable t) {
                fail("mutation " + i + " escaped as " + t, t);
            }
            try {
                Files.delete(p);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        // both outcomes must occur, or the fuzz is not exploring anything
        assertTrue(opened > 20 && rejected > 100, "opened " + opened + ", rejected " + rejected);
    }

    /** Reads every value and tensor the way inspect and the model loader do; only MetagenException may escape. */
    private static void exercise(GgufFile f) {
        for (var e : f.metadata().entrySet()) {
            e.getValue().display(8);
            e.getValue().toPlain();
        }
        for (GgufTensorInfo t : f.tensors().values()) {
            try {
                if (t.type() != null && t.type().isSupported() && TypeKernels.isSupported(t.type())) {
                    Matrix m = f.matrix(t);
                    float[] row = new float[(int) t.shape()[0]];
                    m.dequantizeRow(0, row, 0);
                } else {
                    f.tensorData(t);
                }
            } catch (MetagenException e) {
                oneLine(e);
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** Writes {@code bytes}, opens it, and returns the one-line message naming the file. */
    private static String rejected(byte[] bytes, String name) {
        Path p = write(bytes, name);
        MetagenException e;
        try {
            e = assertThrows(MetagenException.class, () -> GgufFile.open(p).close(), name + " was accepted");
        } catch (AssertionError a) {
            throw a;
        } catch (Throwable t) {
            throw new AssertionError(name + ": escaped as " + t, t);
        }
        String msg = oneLine(e);
        assertTrue(msg.startsWith(p + ": "), msg);
        return msg;
    }

    /** Like {@link #rejected} and the message contains {@code fragment}. */
    private static void expectRejected(byte[] bytes, String name, String fragment) {
        String msg = rejected(bytes, name);
        assertTrue(msg.contains(fragment), () -> name + ": expected \"" + fragment + "\" in: " + msg);
    }

    private static String rejectedFile(GgufWriter w, String name) {
        return rejected(read(w, name), name);
    }

    private static byte[] read(GgufWriter w, String name) {
        Path p = dir.resolve(name + "-src.gguf");
        w.write(p);
        return read(p);
    }

    private static String oneLine(Throwable e) {
        String msg = e.getMessage();
        assertNotNull(msg);
        assertFalse(msg.contains("\n") || msg.contains("\r"), "message is not one line: " + msg);
        assertFalse(msg.isBlank());
        return msg;
    }

    private static Path write(byte[] b, String name) {
        Path p = dir.resolve(name + "-" + (counter++) + ".gguf");
        try {
            Files.write(p, b);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return p;
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] withInt(byte[] b, int at, int v) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
        return c;
    }

    private static byte[] withLong(byte[] b, int at, long v) {
        byte[] c = b.clone();
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
        return c;
    }

    /** Position of the GGUF string {@code s} (its u64 length prefix) at or after {@code from}. */
    private static int findString(byte[] hay, String s, int from) {
        byte[] text = s.getBytes(StandardCharsets.UTF_8);
        byte[] needle = ByteBuffer.allocate(8 + text.length).order(ByteOrder.LITTLE_ENDIAN).putLong(text.length).put(text).array();
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (hay[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("string " + s + " not found");
    }
}
