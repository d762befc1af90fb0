package dev.metagen.control;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.core.Tokenizer;
import dev.metagen.decoding.LogitsProcessors;
import dev.metagen.decoding.SamplingGenerator;

/**
 * Constrained decoding (Welleck et al. 2024, section 3.2): greedy or ancestral sampling over a
 * {@link LanguageModel} where each step's candidates are masked by a {@link TokenConstraint} (a
 * {@link ConstraintSampler} at the head of the sampler chain) before the chain picks, so every finished output is in
 * the constraint's language. The decode loop is {@link SamplingGenerator}'s, with the whole sampler chain of each
 * call's {@link GenerationParams}; the output text is the concatenation of the generated tokens' bytes (what the
 * constraint saw).
 *
 * <p>Example:
 * <pre>{@code
 * GrammarConstraint yesNo = Constraints.choice(List.of("yes", "no"), model.tokenizer());
 * Generator answer = new ConstrainedGenerator(model, yesNo);
 * Generation g = answer.generate(Prompt.of("Is the sky blue? Answer:"), GenerationParams.greedy(4));
 * // g.text() is "yes" or "no"
 * }</pre>
 */
public final class ConstrainedGenerator implements Generator {
    private final LanguageModel model;
    private final TokenConstraint constraint;
    private final double closeAfter;

    /**
     * Closes the output once 3/4 of the token budget is spent (see {@link #ConstrainedGenerator(LanguageModel, TokenConstraint, double)}).
     *
     * @param model the model
     * @param constraint the constraint
     */
    public ConstrainedGenerator(LanguageModel model, TokenConstraint constraint) {
        this(model, constraint, 0.75);
    }

    /**
     * A generator whose outputs {@code constraint} accepts.
     *
     * @param closeAfter once this fraction of {@code maxTokens} is generated, only tokens that bring the output
     *                   strictly closer to completion are allowed ({@link ConstraintState#closing()}), so a
     *                   budget-limited output still finishes when the budget allows; 1 or more disables it
     * @param model the model
     * @param constraint the constraint
     */
    public ConstrainedGenerator(LanguageModel model, TokenConstraint constraint, double closeAfter) {
        this.model = model;
        this.constraint = constraint;
        this.closeAfter = closeAfter;
    }

    /**
     * The processors of one constrained generation: the mask, after {@code first} (e.g. guidance adapters).
     *
     * @param start the constraint state the output starts in
     * @param first processors that run before the mask
     * @return the processors
     */
    public LogitsProcessors processors(ConstraintState start, LogitsProcessors first) {
        return new LogitsProcessors(first.first(), new ConstraintSampler(constraint, start, closeAfter), first.then(), first.resources());
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        Tokenizer tok = model.tokenizer();
        return generate(tok.encode(prompt.text(), params.addSpecial(), false), params, constraint.start());
    }

    /**
     * Generates from prompt ids, starting in constraint state {@code start}.
     *
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @param start the constraint state the output starts in
     * @return the generation
     */
    public Generation generate(int[] promptIds, GenerationParams params, ConstraintState start) {
        return generate(promptIds, params, start, text -> {});
    }

    /**
     * As {@link #generate(int[], GenerationParams, ConstraintState)}, passing each piece of final text to
     * {@code onText}: a caller stops the generation at once by throwing from it (a server whose client went away),
     * and the sequence's state is closed on the way out.
     *
     * @param promptIds the prompt's token ids
     * @param params the call's parameters
     * @param start the constraint state the output starts in
     * @param onText receives each final piece of text
     * @return the generation
     */
    public Generation generate(int[] promptIds, GenerationParams params, ConstraintState start,
                               java.util.function.Consumer<String> onText) {
        if (params.constraint() != null) {
            throw new MetagenException("a constrained generator has its own constraint; the call also asks for "
                    + params.constraint().describe());
        }
        SamplingGenerator loop = new SamplingGenerator(model).withProcessors((p, ids) -> processors(start, LogitsProcessors.NONE));
        return loop.generate(promptIds, params, onText);
    }
}
