package dev.metagen.cli;

import dev.metagen.core.ChatMessage;
import dev.metagen.core.FinishReason;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Guidance;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import dev.metagen.engine.chat.ChatTemplate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A multi-turn conversation with a local model. Each turn renders the whole history with the chat template and
 * tokenizes it; the one KV state kept across turns is rolled back to the longest common prefix with the new
 * tokens and only the rest is computed (after the first turn, typically just the closing of the last answer and
 * the new user message). When the conversation no longer fits the context, the oldest exchanges are dropped;
 * the system prompt is kept.
 */
final class ChatSession implements AutoCloseable {

    /**
     * One answer.
     *
     * @param promptTokens    tokens of the rendered conversation
     * @param reusedTokens    of those, how many were already in the KV state
     * @param droppedMessages messages removed from the front of the history to fit the context
     */
    record Reply(String text, FinishReason finish, int promptTokens, int reusedTokens, int generatedTokens,
                 int droppedMessages, double decodeTokensPerSecond) {
    }

    private final LanguageModel model;
    private final ChatTemplate template;
    private final String system;
    private final SamplingConfig sampling;
    private final long seed;
    private final int maxTokens;
    private final List<String> stops;
    private final List<ChatMessage> turns = new ArrayList<>();
    private ModelState state;
    private int turnNumber;

    ChatSession(LanguageModel model, ChatTemplate template, String system, SamplingConfig sampling, long seed,
                int maxTokens, List<String> extraStops) {
        if (maxTokens < 1) {
            throw new MetagenException("--max-tokens must be >= 1, got " + maxTokens);
        }
        this.model = model;
        this.template = template;
        this.system = system == null || system.isBlank() ? null : system;
        this.sampling = sampling;
        this.seed = seed;
        this.maxTokens = maxTokens;
        List<String> s = new ArrayList<>(template.stopStrings());
        s.addAll(extraStops);
        this.stops = List.copyOf(s);
    }

    /** The conversation as the template sees it: the system prompt (if any) and the turns so far. */
    List<ChatMessage> messages() {
        List<ChatMessage> all = new ArrayList<>(turns.size() + 1);
        if (system != null) {
            all.add(ChatMessage.system(system));
        }
        all.addAll(turns);
        return all;
    }

    /** Forgets the turns (the system prompt stays); the KV state is kept, its prefix is still reusable. */
    void reset() {
        turns.clear();
    }

    /** Tokens now held in the KV state. */
    int cachedTokens() {
        return state == null ? 0 : state.length();
    }

    /**
     * Adds the user's message, generates the answer (streamed to {@code onText}) and adds it to the history.
     * {@code cancelled} is polled before every token; when it turns true the partial answer is kept and the reply
     * finishes as CANCELLED.
     */
    Reply send(String userText, Consumer<String> onText, BooleanSupplier cancelled) {
        turns.add(ChatMessage.user(userText));
        int ctx = model.info().contextLength();
        int reserve = Math.min(maxTokens, Math.max(1, ctx / 4));
        int dropped = 0;
        int[] ids;
        List<ChatMessage> before = List.copyOf(turns.subList(0, turns.size() - 1));
        try {
            while (true) {
                ids = tokenize(render(messages()));
                if (ids.length + reserve <= ctx) {
                    break;
                }
                if (turns.size() <= 1) {
                    throw new MetagenException("the message does not fit: the conversation has " + ids.length
                            + " tokens with it, and the context holds " + ctx + " (with " + reserve
                            + " kept for the answer)");
                }
                dropped += dropOldestExchange();
            }
        } catch (MetagenException e) {
            // the message is not sent: the history stays as it was
            turns.clear();
            turns.addAll(before);
            throw e;
        }
        if (state == null) {
            state = model.newState();
        }
        int reused = commonPrefix(state.tokens(), ids);
        if (reused == ids.length) {
            reused--; // at least one token must be computed to get the next-token logits
        }
        if (reused < state.length()) {
            state.truncate(reused);
        }
        // the one decode loop, continuing from the cached prefix of the conversation
        GenerationParams params = new GenerationParams(maxTokens, seed + turnNumber++, false, stops, sampling, 0, null,
                Guidance.NONE);
        long t0 = System.nanoTime();
        Generation g = new SamplingGenerator(model).generate(state, ids, params, onText, cancelled);
        int n = g.tokens().length;
        FinishReason finish = g.finish();
        double seconds = (System.nanoTime() - t0) / 1e9;
        StringBuilder text = new StringBuilder(g.text());
        String answer = text.toString().strip();
        turns.add(ChatMessage.assistant(answer));
        return new Reply(answer, finish, ids.length, reused, n, dropped, seconds > 0 ? n / seconds : 0);
    }

    /** Removes the first turn and the rest of its exchange (up to the next user message); never the newest. */
    private int dropOldestExchange() {
        int removed = 0;
        do {
            turns.removeFirst();
            removed++;
        } while (turns.size() > 1 && !turns.getFirst().role().equals("user"));
        return removed;
    }

    /**
     * Prompt ids with special-token text parsed. A template that writes the BOS text itself gets it removed when
     * the tokenizer adds BOS anyway, as llama.cpp does, so the prompt never starts with two BOS tokens.
     */
    private int[] tokenize(String prompt) {
        Tokenizer tok = model.tokenizer();
        String bos = template.bosToken();
        boolean addBos = tok.special().addBos();
        String text = addBos && !bos.isEmpty() && prompt.startsWith(bos) ? prompt.substring(bos.length()) : prompt;
        int[] ids = tok.encode(text, true, true);
        if (ids.length == 0) {
            throw new MetagenException("the chat template rendered an empty prompt");
        }
        return ids;
    }

    /** The prompt ids of a conversation as this session renders and tokenizes it (with the generation prompt). */
    int[] promptIds(List<ChatMessage> messages) {
        return tokenize(render(messages));
    }

    /**
     * Renders with the generation prompt. A template that refuses system messages (Gemma 2 raises "System role not
     * supported") gets the system prompt at the start of the first user message instead, as llama.cpp does.
     */
    private String render(List<ChatMessage> messages) {
        try {
            return template.render(messages, true, null, Map.of());
        } catch (MetagenException e) {
            if (messages.isEmpty() || !messages.getFirst().role().equals("system") || messages.size() < 2
                    || !messages.get(1).role().equals("user") || !e.getMessage().contains("raised an error")) {
                throw e;
            }
            List<ChatMessage> merged = new ArrayList<>(messages.subList(1, messages.size()));
            merged.set(0, ChatMessage.user(messages.getFirst().content() + "\n" + messages.get(1).content()));
            return template.render(merged, true, null, Map.of());
        }
    }

    static int commonPrefix(int[] a, int[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    @Override
    public void close() {
        if (state != null) {
            state.close();
            state = null;
        }
    }
}
