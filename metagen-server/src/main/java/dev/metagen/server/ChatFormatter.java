package dev.metagen.server;

import java.util.List;

/** Turns chat messages into the prompt the model was trained on (its chat template) and tokenizes it. */
interface ChatFormatter {
    /** One message of a conversation as the API sends it ({@code developer} is read as {@code system}). */
    record Message(String role, String content, String name, String toolCallId) {
    }

    String render(List<Message> messages);

    /** The rendered text's token ids (the template's own BOS and special-token text are honoured). */
    int[] encode(String rendered);
}
