package dev.metagen.langchain4j;

import dev.langchain4j.data.message.ChatMessageType;
import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.service.AiServices;
import dev.langchain4j.service.SystemMessage;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** AiServices interfaces over the LangChain4j chat model: text answers, chat memory, and records under a JSON Schema. */
class AiServicesTest {
    /** A structured answer: on stories260K its values are nonsense, but its JSON always parses. */
    record Hero(String name, int age, boolean brave, Mood mood) {
    }

    enum Mood { HAPPY, SAD, ANGRY }

    interface Storyteller {
        @SystemMessage("You tell short stories.")
        String tell(String prompt);

        Hero hero(String prompt);
    }

    @Test
    void textAnswersRememberTheConversation() {
        List<ChatRequest> seen = new CopyOnWriteArrayList<>();
        ChatModelListener spy = new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext ctx) {
                seen.add(ctx.chatRequest());
            }
        };
        MetagenChatModel model = MetagenChatModel.builder().engine(Stories.engine()).temperature(0.0).maxOutputTokens(20)
                .listeners(List.of(spy)).build();
        Storyteller teller = AiServices.builder(Storyteller.class).chatModel(model)
                .chatMemory(MessageWindowChatMemory.withMaxMessages(10)).build();
        String first = teller.tell("Once upon a time");
        String second = teller.tell("Then");
        assertFalse(first.isEmpty());
        assertNotNull(second);
        assertEquals(2, seen.size());
        // the second call carries the first exchange from the memory: system, user, assistant, user
        List<dev.langchain4j.data.message.ChatMessage> m = seen.get(1).messages();
        assertEquals(List.of(ChatMessageType.SYSTEM, ChatMessageType.USER, ChatMessageType.AI, ChatMessageType.USER),
                m.stream().map(dev.langchain4j.data.message.ChatMessage::type).toList());
        assertEquals(first, ((dev.langchain4j.data.message.AiMessage) m.get(2)).text());
    }

    @Test
    void recordsAreDecodedUnderTheirJsonSchemaSoTheyAlwaysParse() {
        List<ChatRequest> seen = new CopyOnWriteArrayList<>();
        ChatModelListener spy = new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext ctx) {
                seen.add(ctx.chatRequest());
            }
        };
        // sampled at temperature 1: a JSON text the model would never write by itself, and it parses
        Storyteller seeded = AiServices.create(Storyteller.class, MetagenChatModel.builder().engine(Stories.engine())
                .maxOutputTokens(400).seed(1L).listeners(List.of(spy)).build());
        Hero h = seeded.hero("Tell me about the hero.");
        assertNotNull(h.name());
        assertNotNull(h.mood());
        Storyteller greedy = AiServices.create(Storyteller.class, MetagenChatModel.builder().engine(Stories.engine())
                .maxOutputTokens(400).temperature(0.0).listeners(List.of(spy)).build());
        assertNotNull(greedy.hero("Tell me about the hero.").mood());
        assertEquals(2, seen.size());
        assertTrue(seen.stream().allMatch(r -> r.responseFormat() != null && r.responseFormat().type() == ResponseFormatType.JSON
                && r.responseFormat().jsonSchema() != null), "AiServices sent the record's JSON Schema");
    }
}
