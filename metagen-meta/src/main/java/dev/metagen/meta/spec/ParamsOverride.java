package dev.metagen.meta.spec;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationFields;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.Prompt;

import java.util.Map;

/**
 * A leaf generator with generation fields fixed by its spec (e.g. {@code "temperature": 0.7, "min_p": 0.1}): they
 * override the caller's parameters by the rules of {@link GenerationFields} ({@code max_tokens} only lowers the
 * caller's limit, {@code stop} strings are added to the caller's); the seed always comes from the caller, so that
 * parallel strategies can vary it.
 *
 * @param fields plain JSON values by field name
 * @param path   the JSON path of the leaf, for error messages
 * @param inner the leaf generator
 */
public record ParamsOverride(Generator inner, Map<String, Object> fields, String path) implements Generator {
    /** Copies the fields. */
    public ParamsOverride {
        fields = Map.copyOf(fields);
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams p) {
        return inner.generate(prompt, apply(p));
    }

    /** The inner generator's bounds under the parameters it will really get. */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams p) {
        return inner.maxModelCalls(prompt, apply(p));
    }

    @Override
    public long maxGeneratedTokens(Prompt prompt, GenerationParams p) {
        return inner.maxGeneratedTokens(prompt, apply(p));
    }

    private GenerationParams apply(GenerationParams p) {
        return GenerationFields.apply(p, fields, path);
    }
}
