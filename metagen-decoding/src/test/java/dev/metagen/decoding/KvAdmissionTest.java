package dev.metagen.decoding;

import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MemoryReservation;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.testing.TestModels;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KV memory admission in the decode loops on stories260K: {@code generateN} with more samples than the KV budget
 * holds runs them as memory frees, each equal to its solo run; a generation that can never fit fails at once with
 * a clear message; one interrupted while waiting for memory finishes cancelled. The budget is the engine's KV block
 * count, so this runs on the engine only; llama.cpp's cell admission under the same loops is LlamaCppGenerationTest.
 */
@Tag("engine-only")
class KvAdmissionTest {
    /** Bytes of one stories260K KV block (5 layers x 16 positions x 64 key and value floats). */
    private static final long BLOCK_BYTES = 5L * 16 * 64 * Float.BYTES;

    private static TransformerModel load(long kvBlocks) {
        return TransformerModel.load(TestModels.stories260kPath(),
                new ModelOptions(1, 512).withKvBudgetBytes(kvBlocks * BLOCK_BYTES));
    }

    @Test
    void sixtyFourSamplesOf256TokensUnderASmallBudgetAllFinishAsTheirSoloRuns() {
        GenerationParams params = new GenerationParams(256, 0.9, 0, 1.0, 500, true, List.of());
        // room for about 8 samples at once (each may take 17 blocks), plus the prompt
        try (TransformerModel m = load(8 * 17 + 2)) {
            assertEquals(BLOCK_BYTES, m.kvStats().blockBytes());
            SamplingGenerator gen = new SamplingGenerator(m);
            int[] prompt = m.tokenizer().encode("Once upon a time", true, false);
            List<Generation> all = gen.generateN(prompt, params, 64);
            assertEquals(64, all.size());
            assertEquals(1, all.getFirst().trace().get("kv_waves"), "samples joined as others ended");
            for (Generation g : all) {
                assertTrue(g.finish() == FinishReason.LENGTH || g.finish() == FinishReason.STOP, g.finish().toString());
                assertTrue(g.tokens().length > 0);
            }
            assertTrue(m.batchStats().largestBatch() <= 9, "never more samples at once than the budget holds");
            assertEquals(0, m.kvStats().liveBlocks() - m.kvStats().cachedBlocks(), "every state was closed");
            assertEquals(0, m.kvStats().promisedBlocks());
            for (int i = 0; i < 64; i += 21) {
                Generation lone = gen.generate(prompt, params.withSampling(0.9, 0, 1.0, 500 + i), t -> { });
                assertArrayEquals(lone.tokens(), all.get(i).tokens(), "sample " + i);
                assertEquals(lone.text(), all.get(i).text());
            }
            assertTrue(all.stream().map(Generation::text).distinct().count() > 32, "samples differ");
        }
    }

    /**
     * A parallel sampling whose budget holds 4 samples meets a request that waits for the whole budget: it adds no
     * sample ahead of the waiter, lets its running samples end, closes its wave (holding nothing) so the waiter gets
     * in, then waits its turn and re-prefills its prompt; its samples still equal the run without the waiter.
     */
    @Test
    void aParallelSamplingYieldsToAWaitingRequestAndKeepsItsOutputs() throws Exception {
        GenerationParams params = new GenerationParams(64, 0.9, 0, 1.0, 40, true, List.of());
        int[] prompt;
        List<Generation> alone;
        try (TransformerModel m = load(64)) {
            prompt = m.tokenizer().encode("Once upon a time", true, false);
            alone = new SamplingGenerator(m).generateN(prompt, params, 12);
        }
        // a wave takes 1 + 5 blocks, each further sample 5: 4 samples at once
        try (TransformerModel m = load(21); ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch decoding = new CountDownLatch(1);
            CountDownLatch waiterQueued = new CountDownLatch(1);
            LanguageModel paused = new DelegatingModel(m) {
                int forwards;

                @Override
                public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
                    if (++forwards == 2) { // the first decoding step: let the waiter queue up now
                        decoding.countDown();
                        await(waiterQueued);
                    }
                    return m.forward(states, tokens);
                }
            };
            Future<List<Generation>> sampling = ex.submit(() -> new SamplingGenerator(paused).generateN(prompt, params, 12));
            decoding.await();
            Future<Integer> waiter = ex.submit(() -> {
                try (ModelState s = m.newState(); MemoryReservation all = s.reserve(21 * 16)) {
                    return m.kvStats().promisedBlocks(); // admitted only once the sampling held nothing
                }
            });
            while (m.kvStats().waiting() != 1) {
                Thread.sleep(1);
            }
            waiterQueued.countDown();
            assertEquals(21, waiter.get(), "the waiter got the whole budget");
            List<Generation> all = sampling.get();
            for (int i = 0; i < 12; i++) {
                assertArrayEquals(alone.get(i).tokens(), all.get(i).tokens(), "sample " + i);
            }
            assertTrue((int) all.getFirst().trace().get("kv_waves") >= 2, "the sampling closed its wave and came back");
            assertTrue(m.batchStats().largestBatch() <= 4);
            assertEquals(0, m.kvStats().promisedBlocks());
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A model that passes every call to another (tests override one method). */
    private static class DelegatingModel implements LanguageModel {
        private final LanguageModel inner;

        DelegatingModel(LanguageModel inner) {
            this.inner = inner;
        }

        @Override
        public Tokenizer tokenizer() {
            return inner.tokenizer();
        }

        @Override
        public ModelInfo info() {
            return inner.info();
        }

        @Override
        public ModelState newState() {
            return inner.newState();
        }

        @Override
        public List<Logits> forward(List<ModelState> states, List<int[]> tokens) {
            return inner.forward(states, tokens);
        }

        @Override
        public void close() {
        }
    }

    @Test
    void concurrentGenerationsWaitForMemoryInsteadOfFailing() throws Exception {
        GenerationParams params = new GenerationParams(128, 0.9, 0, 1.0, 7, true, List.of());
        try (TransformerModel m = load(3 * 9); ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            SamplingGenerator gen = new SamplingGenerator(m);
            int[] prompt = m.tokenizer().encode("Once upon a time", true, false);
            List<Future<Generation>> futures = new java.util.ArrayList<>();
            for (int i = 0; i < 16; i++) {
                GenerationParams p = params.withSampling(0.9, 0, 1.0, 7 + i);
                futures.add(ex.submit(() -> gen.generate(prompt, p, t -> { })));
            }
            for (Future<Generation> f : futures) {
                Generation g = f.get();
                assertTrue(g.finish() == FinishReason.LENGTH || g.finish() == FinishReason.STOP, g.finish().toString());
            }
            assertTrue(m.batchStats().largestBatch() <= 3);
        }
    }

    @Test
    void aGenerationThatCanNeverFitFailsAtOnceWithAClearMessage() {
        try (TransformerModel m = load(4)) {
            SamplingGenerator gen = new SamplingGenerator(m);
            long rows = m.rowsComputed();
            MetagenException e = assertThrows(MetagenException.class, () -> gen.generate(
                    m.tokenizer().encode("Once upon a time", true, false),
                    new GenerationParams(100, 0.0, 0, 1.0, 1, true, List.of()), t -> { }));
            assertTrue(e.getMessage().contains("can never run") && e.getMessage().contains("--kv-budget-mib"),
                    e.getMessage());
            assertEquals(rows, m.rowsComputed(), "nothing ran");
            assertThrows(MetagenException.class, () -> gen.generateN(m.tokenizer().encode("Once", true, false),
                    new GenerationParams(100, 0.0, 0, 1.0, 1, true, List.of()), 4));
        }
    }

    @Test
    void aGenerationInterruptedWhileWaitingForMemoryFinishesCancelled() throws Exception {
        try (TransformerModel m = load(10); ModelState holder = m.newState();
             MemoryReservation all = holder.reserve(10 * 16)) {
            SamplingGenerator gen = new SamplingGenerator(m);
            AtomicReference<Generation> result = new AtomicReference<>();
            Thread t = Thread.ofVirtual().start(() -> result.set(gen.generate(
                    m.tokenizer().encode("Once upon a time", true, false),
                    new GenerationParams(20, 0.0, 0, 1.0, 1, true, List.of()), s -> { })));
            while (m.kvStats().waiting() != 1) {
                Thread.sleep(1);
            }
            t.interrupt();
            t.join();
            assertEquals(FinishReason.CANCELLED, result.get().finish());
            assertEquals(0, result.get().tokens().length);
            assertEquals(0, m.kvStats().waiting());
            assertEquals(10, m.kvStats().promisedBlocks(), "the holder's promise is untouched");
        }
    }
}
