package dev.metagen.runtime.chat;

import java.util.List;

/**
 * The request parameters that chat frameworks (LangChain4j, Spring AI) share, as one call gives them: null means "not
 * given" (the engine's default stays). {@link ChatEngine#params} maps them onto the one parameter model.
 *
 * @param maxTokens        the most tokens to generate
 * @param temperature      0 = greedy
 * @param topP             nucleus sampling, in (0, 1]
 * @param topK             top-k sampling, 0 = off
 * @param frequencyPenalty OpenAI's frequency penalty over the whole generated text
 * @param presencePenalty  OpenAI's presence penalty over the whole generated text
 * @param stop             stop strings (added to the chat template's end-of-turn strings)
 * @param seed             the sampling seed (null: a fresh random one per call)
 * @param jsonSchema       a JSON Schema (text) the answer must match, decoded under that constraint
 * @param jsonObject       whether the answer must be a JSON object (any)
 */
public record ChatSettings(Integer maxTokens, Double temperature, Double topP, Integer topK, Double frequencyPenalty,
                           Double presencePenalty, List<String> stop, Long seed, String jsonSchema, boolean jsonObject) {
    /** Nothing given. */
    public static final ChatSettings NONE = new ChatSettings(null, null, null, null, null, null, null, null, null, false);

    public ChatSettings {
        stop = stop == null ? List.of() : List.copyOf(stop);
    }
}
