package dev.metagen.engine.model;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Greedy decoding of the real stories260K checkpoint against the golden ids in shared/models/README.md. */
class Stories260kTest {

    /** The first 256 greedy ids after BOS, from shared/models/README.md (a float64 reference run). */
    static final int[] GOLDEN = {
            403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
            328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415, 426, 13, 438, 310,
            439, 419, 357, 336, 432, 313, 438, 310, 432, 278, 316, 439, 419, 298, 414, 267, 265, 282, 295, 433, 426, 436, 317, 286, 296, 418, 269, 279, 292, 416, 439, 413,
            409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 391, 267, 337, 335, 364, 420, 268, 388, 432, 398, 359, 280, 303, 439, 413, 272, 417, 264,
            312, 426, 436, 13, 438, 310, 286, 296, 418, 269, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 338, 336, 432, 313, 442, 439, 423, 262,
            304, 420, 422, 432, 317, 426, 359, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415, 294, 267, 400, 426, 436, 13, 438, 310, 279, 292, 416, 439, 413, 391, 267,
            281, 421, 427, 311, 357, 432, 384, 358, 336, 432, 313, 442, 439, 423, 262, 304, 420, 422, 432, 357, 426, 359, 279, 292, 416, 439, 413, 409, 416, 327, 263, 415,
            294, 267, 400, 426, 436, 320, 285, 357, 336, 432, 313, 455, 289, 439, 413, 263, 304, 420, 422, 432, 317, 426, 410, 448, 411, 280, 303, 281, 421, 427, 364, 426};

    @Test
    void greedyFromBosReproducesTheGoldenSequence() {
        try (TransformerModel model = TransformerModel.load(SharedData.stories260k(), new ModelOptions(2, 0))) {
            int[] got = greedy(model, GOLDEN.length);
            int firstDiff = 0;
            while (firstDiff < GOLDEN.length && got[firstDiff] == GOLDEN[firstDiff]) {
                firstDiff++;
            }
            System.out.println("stories260K: float32 greedy matches the float64 golden for " + firstDiff + " of "
                    + GOLDEN.length + " ids");
            assertArrayEquals(GOLDEN, got, "first difference at " + firstDiff);
        }
    }

    @Test
    void infoDescribesTheFile() {
        try (TransformerModel model = TransformerModel.load(SharedData.stories260k())) {
            ModelInfo info = model.info();
            assertEquals("llama", info.architecture());
            assertEquals(512, info.vocabSize());
            assertEquals(64, info.embeddingLength());
            assertEquals(5, info.layers());
            assertEquals(2048, info.contextLength()); // min(2048, 4096)
            assertEquals(292_800, info.parameters());
            assertEquals("F32", info.tensorType());
        }
    }

    @Test
    void greedyTextFromATokenizedPrompt() {
        try (TransformerModel model = TransformerModel.load(SharedData.stories260k(), new ModelOptions(2, 0))) {
            int[] prompt = model.tokenizer().encode("Once upon a time", true);
            ModelState s = model.newState();
            Logits l = model.forward(s, prompt);
            int[] out = new int[12];
            for (int i = 0; i < out.length; i++) {
                out[i] = l.argmax();
                l = model.forward(s, out[i]);
            }
            // the golden run from BOS starts "Once upon a time, there was a little girl named Lily."
            assertEquals(", there was a little girl named Lily.", model.tokenizer().decode(out).substring(0, 37));
        }
    }

    @Test
    void promptPrefillEqualsTokenByTokenFeeding() {
        try (TransformerModel model = TransformerModel.load(SharedData.stories260k(), new ModelOptions(2, 0))) {
            int[] prompt = new int[TransformerModel.MAX_BATCH + 33];
            prompt[0] = 1;
            System.arraycopy(GOLDEN, 0, prompt, 1, prompt.length - 1); // more than one MAX_BATCH chunk
            ModelState a = model.newState();
            Logits batched = model.forward(a, prompt);
            ModelState b = model.newState();
            Logits single = null;
            for (int t : prompt) {
                single = model.forward(b, t);
            }
            assertEquals(GOLDEN[prompt.length - 1], batched.argmax());
            float maxDiff = 0;
            for (int i = 0; i < batched.size(); i++) {
                maxDiff = Math.max(maxDiff, Math.abs(batched.values()[i] - single.values()[i]));
            }
            assertEquals(0f, maxDiff, 1e-4f);
            assertArrayEquals(prompt, a.tokens());
        }
    }

    static int[] greedy(TransformerModel model, int steps) {
        ModelState s = model.newState();
        int[] out = new int[steps];
        Logits l = model.forward(s, 1);
        for (int i = 0; i < steps; i++) {
            out[i] = l.argmax();
            if (i + 1 < steps) {
                l = model.forward(s, out[i]);
            }
        }
        return Arrays.copyOf(out, steps);
    }
}
