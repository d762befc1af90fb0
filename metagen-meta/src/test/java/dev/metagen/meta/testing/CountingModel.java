package dev.metagen.meta.testing;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.ModelInfo;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** Counts what the model itself was asked to do: forward calls, and prompt tokens (a fresh state's first forward). */
public final class CountingModel implements LanguageModel {
    private final LanguageModel model;
    public final AtomicLong forwards = new AtomicLong();
    public final AtomicLong prefillTokens = new AtomicLong();
    public final AtomicLong tokens = new AtomicLong();

    public CountingModel(LanguageModel model) {
        this.model = model;
    }

    @Override
    public Tokenizer tokenizer() {
        return model.tokenizer();
    }

    @Override
    public ModelInfo info() {
        return model.info();
    }

    @Override
    public ModelState newState() {
        return model.newState();
    }

    @Override
    public List<Logits> forward(List<ModelState> states, List<int[]> toks) {
        for (int i = 0; i < states.size(); i++) {
            forwards.incrementAndGet();
            tokens.addAndGet(toks.get(i).length);
            if (states.get(i).length() == 0) {
                prefillTokens.addAndGet(toks.get(i).length);
            }
        }
        return model.forward(states, toks);
    }

    @Override
    public void close() {
        model.close();
    }
}
