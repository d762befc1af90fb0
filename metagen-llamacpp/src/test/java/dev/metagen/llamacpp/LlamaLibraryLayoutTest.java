package dev.metagen.llamacpp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

import static dev.metagen.llamacpp.LlamaLibrary.BATCH;
import static dev.metagen.llamacpp.LlamaLibrary.CONTEXT_PARAMS;
import static dev.metagen.llamacpp.LlamaLibrary.MODEL_PARAMS;
import static dev.metagen.llamacpp.LlamaLibrary.offset;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The hand-written struct layouts against the library itself: the structs that {@code llama_model_default_params}
 * and {@code llama_context_default_params} return, read through our offsets, hold the defaults their C source
 * writes (src/llama-model.cpp, src/llama-context.cpp of the bundled release), and {@code llama_batch_init}'s
 * pointers sit where our layout says.
 */
class LlamaLibraryLayoutTest {

    private static LlamaLibrary lib;

    @BeforeAll
    static void load() {
        if (!LlamaCppModel.libraryAvailable()) {
            String msg = "\n*** SKIPPED: llama.cpp library not found (" + LlamaLibrary.LIBRARY_FILE
                    + "); run ./run-tests once or set -D" + LlamaLibrary.PROPERTY + ". ***\n";
            System.err.println(msg);
            Assumptions.abort(msg);
        }
        lib = LlamaLibrary.get();
    }

    @Test
    void sizesFollowTheCAbi() {
        assertEquals(80, MODEL_PARAMS.byteSize());
        assertEquals(160, CONTEXT_PARAMS.byteSize());
        assertEquals(56, BATCH.byteSize());
    }

    @Test
    void modelDefaultsReadThroughOurOffsets() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = (MemorySegment) lib.modelDefaultParams.invokeExact((SegmentAllocator) a);
            assertEquals(MemorySegment.NULL, p.get(ADDRESS, offset(MODEL_PARAMS, "devices")));
            assertEquals(-1, p.get(JAVA_INT, offset(MODEL_PARAMS, "n_gpu_layers")));
            assertEquals(1, p.get(JAVA_INT, offset(MODEL_PARAMS, "split_mode"))); // LLAMA_SPLIT_MODE_LAYER
            assertEquals(0, p.get(JAVA_INT, offset(MODEL_PARAMS, "main_gpu")));
            assertEquals(MemorySegment.NULL, p.get(ADDRESS, offset(MODEL_PARAMS, "kv_overrides")));
            assertFalse(p.get(JAVA_BOOLEAN, offset(MODEL_PARAMS, "vocab_only")));
            assertFalse(p.get(JAVA_BOOLEAN, offset(MODEL_PARAMS, "check_tensors")));
            assertTrue(p.get(JAVA_BOOLEAN, offset(MODEL_PARAMS, "use_extra_bufts")));
            assertFalse(p.get(JAVA_BOOLEAN, offset(MODEL_PARAMS, "load_mtp")));
        }
    }

    @Test
    void contextDefaultsReadThroughOurOffsets() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = (MemorySegment) lib.contextDefaultParams.invokeExact((SegmentAllocator) a);
            assertEquals(512, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "n_ctx")));
            assertEquals(2048, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "n_batch")));
            assertEquals(512, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "n_ubatch")));
            assertEquals(1, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "n_seq_max")));
            assertEquals(0, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "n_rs_seq")));
            assertEquals(1, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "n_outputs_max_per_seq")));
            assertEquals(-1, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "flash_attn_type"))); // AUTO
            assertEquals(0f, p.get(JAVA_FLOAT, offset(CONTEXT_PARAMS, "rope_freq_base")));
            assertEquals(-1f, p.get(JAVA_FLOAT, offset(CONTEXT_PARAMS, "yarn_ext_factor")));
            assertEquals(-1f, p.get(JAVA_FLOAT, offset(CONTEXT_PARAMS, "yarn_beta_slow")));
            assertEquals(0, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "yarn_orig_ctx")));
            assertEquals(-1f, p.get(JAVA_FLOAT, offset(CONTEXT_PARAMS, "defrag_thold")));
            assertEquals(1, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "type_k"))); // GGML_TYPE_F16
            assertEquals(1, p.get(JAVA_INT, offset(CONTEXT_PARAMS, "type_v")));
            assertFalse(p.get(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "embeddings")));
            assertTrue(p.get(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "offload_kqv")));
            assertTrue(p.get(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "no_perf")));
            assertTrue(p.get(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "op_offload")));
            assertTrue(p.get(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "swa_full")));
            assertFalse(p.get(JAVA_BOOLEAN, offset(CONTEXT_PARAMS, "kv_unified")));
            assertEquals(MemorySegment.NULL, p.get(ADDRESS, offset(CONTEXT_PARAMS, "samplers")));
            assertEquals(0L, p.get(JAVA_LONG, offset(CONTEXT_PARAMS, "n_samplers")));
            assertEquals(MemorySegment.NULL, p.get(ADDRESS, offset(CONTEXT_PARAMS, "ctx_other")));
        }
    }

    @Test
    void batchInitFillsTheFieldsOurLayoutNames() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment b = (MemorySegment) lib.batchInit.invokeExact((SegmentAllocator) a, 8, 0, 1);
            try {
                assertEquals(0, b.get(JAVA_INT, offset(BATCH, "n_tokens")));
                // embd == 0 allocates token ids and no embeddings
                assertNotEquals(MemorySegment.NULL, b.get(ADDRESS, offset(BATCH, "token")));
                assertEquals(MemorySegment.NULL, b.get(ADDRESS, offset(BATCH, "embd")));
                for (String f : new String[]{"pos", "n_seq_id", "seq_id", "logits"}) {
                    assertNotEquals(MemorySegment.NULL, b.get(ADDRESS, offset(BATCH, f)), f);
                }
                // seq_id holds n_tokens + 1 pointers, the last one NULL (llama_batch_free stops there)
                MemorySegment seqIds = b.get(ADDRESS, offset(BATCH, "seq_id")).reinterpret(9 * 8L);
                assertNotEquals(MemorySegment.NULL, seqIds.getAtIndex(ADDRESS, 7));
                assertEquals(MemorySegment.NULL, seqIds.getAtIndex(ADDRESS, 8));
            } finally {
                lib.batchFree.invokeExact(b);
            }
        }
    }
}
