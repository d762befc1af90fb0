package dev.metagen.langchain4j;

import dev.metagen.core.testing.SharedData;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.runtime.chat.ChatEngine;

/** Test support: stories260K (no chat template of its own: prompts are plain transcripts) loaded once. */
final class Stories {
    private static TransformerModel model;
    private static ChatEngine engine;

    private Stories() {
    }

    static synchronized TransformerModel model() {
        if (model == null) {
            model = TransformerModel.load(SharedData.stories260k(), new ModelOptions(1, 512));
        }
        return model;
    }

    /** A plain engine over the shared model, named as the server names it. */
    static synchronized ChatEngine engine() {
        if (engine == null) {
            engine = ChatEngine.builder().model(model()).modelName("stories260K").maxTokens(48).build();
        }
        return engine;
    }
}
