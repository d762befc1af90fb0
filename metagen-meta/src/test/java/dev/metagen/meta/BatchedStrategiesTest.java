package dev.metagen.meta;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Prompt;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.engine.model.BatchingScheduler;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.meta.parallel.BestOfN;
import dev.metagen.meta.parallel.MajorityVote;
import dev.metagen.meta.score.AnswerExtractors;
import dev.metagen.meta.score.LogprobScorer;
import dev.metagen.meta.search.MonteCarloTreeSearch;
import dev.metagen.meta.search.StepBeamSearch;
import dev.metagen.meta.search.StepConfig;
import dev.metagen.meta.testing.Stories;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Parallel strategies get batched decoding without knowing it: their leaves run on virtual threads and each calls
 * the engine's forward for its own state, and the engine's batching scheduler merges the calls that arrive
 * together into shared passes over the weights (counted here as passes versus calls), while new states with one
 * prompt compute it once. These are the engine's scheduler and prefix cache, so this runs on the engine only.
 */
@Tag("engine-only")
class BatchedStrategiesTest {
    static TransformerModel model;
    static final Prompt LONG_PROMPT = Prompt.of("Once upon a time, there was a little girl named Lily. She loved to play"
            + " outside in the park with her friends.");

    @BeforeAll
    static void load() {
        model = TransformerModel.load(Stories.path(), new ModelOptions(1, 512));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static GenerationParams sampling(int maxTokens, long seed) {
        return new GenerationParams(maxTokens, 1.0, 0, 1.0, seed, true, List.of());
    }

    /** Runs {@code strategy} and returns the scheduler's counters over it. */
    static BatchingScheduler.Stats measure(Supplier<Generation> strategy) {
        BatchingScheduler.Stats before = model.batchStats();
        Generation g = strategy.get();
        assertTrue(g.tokens().length > 0);
        BatchingScheduler.Stats after = model.batchStats();
        return new BatchingScheduler.Stats(after.calls() - before.calls(), after.passes() - before.passes(),
                after.largestBatch());
    }

    @Test
    void selfConsistencySamplesShareDecodePassesAndThePrompt() {
        int promptLen = model.tokenizer().encode(LONG_PROMPT.text(), true, false).length;
        assertTrue(promptLen > 32, "the prompt spans full KV blocks");
        model.clearPrefixCache();
        long rows0 = model.rowsComputed();
        BatchingScheduler.Stats s = measure(() -> new MajorityVote(new SamplingGenerator(model), 8,
                AnswerExtractors.text()).generate(LONG_PROMPT, sampling(24, 3)));
        long rows = model.rowsComputed() - rows0;
        assertTrue(s.passes() * 2 < s.calls(), "8 samples share passes: " + s);
        // 8 x the prompt would be > 8 * promptLen rows; shared full blocks are computed once
        assertTrue(rows < 2L * promptLen + 8L * 24 + 8L * 16, "prompt rows " + rows + " for a " + promptLen + "-token prompt");
    }

    @Test
    void bestOfNStepBeamSearchAndMctsExpansionsSharePasses() {
        BatchingScheduler.Stats best = measure(() -> new BestOfN(new SamplingGenerator(model), 6, LogprobScorer.sum())
                .generate(Prompt.of("Once upon a time"), sampling(20, 11)));
        assertTrue(best.passes() * 2 < best.calls(), "best-of-6: " + best);
        BatchingScheduler.Stats beam = measure(() -> new StepBeamSearch(new SamplingGenerator(model), LogprobScorer.mean(),
                new StepConfig(".", 16, 3, null), 2, 3).generate(Prompt.of("Once upon a time"), sampling(64, 5)));
        assertTrue(beam.passes() < beam.calls() * 3 / 4, "step beam search: " + beam);
        BatchingScheduler.Stats mcts = measure(() -> new MonteCarloTreeSearch(new SamplingGenerator(model),
                LogprobScorer.mean(), new StepConfig(".", 12, 3, null), 4, 3, 1.0, false)
                .generate(Prompt.of("Once upon a time"), sampling(48, 9)));
        assertTrue(mcts.passes() < mcts.calls() * 3 / 4, "MCTS expansions: " + mcts);
        assertEquals(0, model.kvStats().liveBlocks() - model.kvStats().cachedBlocks(), "every state was closed");
    }
}
