package dev.metagen.spring;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.stereotype.Service;

@Service
public class Storyteller {
    private final ChatClient chat;

    public Storyteller(ChatClient.Builder builder) {
        this.chat = builder.defaultSystem("You tell stories.").build();
    }

    public String tell(String opening) {
        return chat.prompt().user(opening).call().content();
    }

    public ChatResponse tellWithDetails(String opening) {
        ChatResponse response = chat.prompt().user(opening).call().chatResponse();
        System.out.println(response.getMetadata().get("metagen.strategy") + ": "
                + MetagenChatModel.cost(response).get("model_calls") + " model calls");
        return response;
    }
}
