package dev.metagen.control;

import dev.metagen.control.grammar.Expr;
import dev.metagen.control.grammar.Grammar;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Token healing (prompt-boundary repair, as in Microsoft guidance): the prompt's last token(s) are backed off and
 * the first generated tokens are constrained to re-produce the removed bytes, so a prompt ending mid-word or in
 * a space is continued as if the model had tokenized the whole text itself.
 *
 * <p>Example:
 * <pre>{@code
 * Generation g = TokenHealing.generate(model, Prompt.of("Once upon a ti"), GenerationParams.greedy(8), 2);
 * // the prompt ends inside a word: g.text() continues it ("me, there was ...")
 * }</pre>
 */
public final class TokenHealing {
    private TokenHealing() {}

    /**
     * The prompt ids to feed, and the bytes that the output must start with.
     *
     * @param promptIds the prompt without the backed-off tokens
     * @param removed the backed-off tokens' bytes
     */
    public record Healed(int[] promptIds, byte[] removed) {}

    /**
     * Backs off up to {@code tokens} trailing non-special tokens (never the whole prompt).
     *
     * @param tok the tokenizer
     * @param promptIds the prompt's token ids
     * @param tokens the most tokens to back off
     * @return the shortened prompt and the removed bytes
     */
    public static Healed backOff(Tokenizer tok, int[] promptIds, int tokens) {
        int keep = promptIds.length;
        int removed = 0;
        while (removed < tokens && keep > 1 && tok.tokenBytes(promptIds[keep - 1]).length > 0) {
            keep--;
            removed++;
        }
        if (removed == 0) {
            return new Healed(promptIds, new byte[0]);
        }
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        for (int i = keep; i < promptIds.length; i++) {
            b.writeBytes(tok.tokenBytes(promptIds[i]));
        }
        return new Healed(Arrays.copyOf(promptIds, keep), b.toByteArray());
    }

    /**
     * The grammar "starts with {@code prefix}, then any bytes".
     *
     * @param prefix the bytes the output starts with
     * @return the grammar
     */
    public static Grammar startsWith(byte[] prefix) {
        Expr anyByte = new Expr.CharClass(new int[] {0, 255}, false, true);
        return Grammar.of(Expr.seq(new Expr.Literal(prefix), new Expr.Repeat(anyByte, 0, -1)));
    }

    /**
     * Generates a healed continuation of {@code prompt}: the returned text and tokens continue the original
     * prompt (the re-generated removed bytes are cut from the text; the tokens are the model's own).
     *
     * @param model the model
     * @param prompt the prompt
     * @param params the call's parameters
     * @param backOffTokens the most prompt tokens to back off
     * @return the continuation of the original prompt
     */
    public static Generation generate(LanguageModel model, Prompt prompt, GenerationParams params, int backOffTokens) {
        Tokenizer tok = model.tokenizer();
        int[] ids = tok.encode(prompt.text(), params.addSpecial(), false);
        if (ids.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        Healed h = backOff(tok, ids, backOffTokens);
        GrammarConstraint c = GrammarConstraint.of(startsWith(h.removed()), tok, "token healing");
        // the healed prefix's bytes are generated again: give the budget room for them
        Generation g = new ConstrainedGenerator(model, c, 1.0).generate(h.promptIds(), params, c.start());
        byte[] all = g.text().getBytes(StandardCharsets.UTF_8);
        int cut = Math.min(h.removed().length, all.length);
        String text = new String(all, cut, all.length - cut, StandardCharsets.UTF_8);
        Map<String, Object> trace = new LinkedHashMap<>(g.trace());
        trace.put("healed_bytes", new String(h.removed(), StandardCharsets.UTF_8));
        trace.put("healed_tokens", ids.length - h.promptIds().length);
        return new Generation(text, g.tokens(), g.logprobs(), g.finish(), g.cost(), trace);
    }
}
