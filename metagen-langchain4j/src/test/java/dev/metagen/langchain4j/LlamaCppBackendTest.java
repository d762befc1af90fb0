package dev.metagen.langchain4j;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.metagen.core.testing.SharedData;
import dev.metagen.llamacpp.LlamaCppModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chat model on the llama.cpp backend answers as on the pure-Java engine (greedy), for both ways of asking for it. */
class LlamaCppBackendTest {
    @Test
    void greedyAnswerEqualsThePureJavaEngines() {
        if (!LlamaCppModel.libraryAvailable()) {
            String msg = "\n*** SKIPPED: llama.cpp library not found: run ./run-tests once (it installs node-llama-cpp under"
                    + " test-support/llamacpp) or set METAGEN_LLAMA_LIB. ***\n";
            System.err.println(msg);
            Assumptions.abort(msg);
        }
        ChatRequest request = ChatRequest.builder().messages(UserMessage.from("Once upon a time")).temperature(0.0).maxOutputTokens(16).build();
        String stories = SharedData.stories260k().toString();
        String pureJava = MetagenChatModel.builder().engine(Stories.engine()).build().chat(request).aiMessage().text();
        assertTrue(pureJava.strip().length() > 8, pureJava);
        try (MetagenChatModel prefixed = MetagenChatModel.builder().model("llamacpp:" + stories).threads(1).contextLength(512).build();
             MetagenChatModel flag = MetagenChatModel.builder().model(stories).backend("llamacpp").threads(1).contextLength(512).build()) {
            ChatResponse a = prefixed.chat(request);
            assertEquals(pureJava, a.aiMessage().text());
            assertEquals(pureJava, flag.chat(request).aiMessage().text());
            assertEquals(MetagenChatModel.builder().engine(Stories.engine()).build().chat(request).tokenUsage(), a.tokenUsage());
        }
    }
}
