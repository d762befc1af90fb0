package dev.metagen.engine.gguf;

import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.Matrix;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class GgufFileTest {

    @Test
    void readsStories260kHeaderAsDocumented() {
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            assertEquals(3, f.version());
            assertEquals(48, f.tensors().size());
            assertEquals(19, f.metadata().size());
            assertEquals(32, f.alignment());
            assertEquals(14176, f.dataOffset());
            assertEquals("llama", f.requireString("general.architecture"));
            assertEquals(64, f.requireInt("llama.embedding_length"));
            assertEquals(5, f.requireInt("llama.block_count"));
            assertEquals(4, f.requireInt("llama.attention.head_count_kv"));
            assertEquals(512, f.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals("<0x0A>", f.getStringArray("tokenizer.ggml.tokens")[13]);
            assertEquals(-1, (int) f.getLong("tokenizer.ggml.padding_token_id", 0));
            GgufTensorInfo emb = f.tensorInfo("token_embd.weight");
            assertArrayEquals(new long[] {64, 512}, emb.shape());
            assertEquals(GgmlType.F32, emb.type());
            // the classifier is a copy of the embedding in this file
            Matrix e = f.matrix(emb);
            Matrix o = f.matrix(f.tensorInfo("output.weight"));
            float[] a = new float[64];
            float[] b = new float[64];
            e.dequantizeRow(403, a, 0);
            o.dequantizeRow(403, b, 0);
            assertArrayEquals(a, b);
            assertNotEquals(0f, a[0]);
        }
    }
}
