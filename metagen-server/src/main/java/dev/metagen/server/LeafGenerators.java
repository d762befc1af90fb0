package dev.metagen.server;

import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.decoding.DecodingSpec;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.meta.spec.LeafFactory;
import dev.metagen.meta.spec.SpecNode;
import dev.metagen.meta.spec.StrategySpecs;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Fills in the leaf generators of strategy specs (DESIGN.md section 2: meta cannot see decoding or the engine, the
 * CLI and the server see everything, and both build leaves here): {@code sample} is ancestral sampling with the caller's settings (a spec may fix
 * temperature, top_k, top_p, max_tokens, stop), {@code greedy} is the same at temperature 0; {@code beam} and
 * {@code contrastive} are the decoding module's searches built by {@link DecodingSpec} from the leaf's other fields
 * ({@code beams}, {@code length_penalty}, {@code alpha}, {@code k} ...). Sampling leaves take the seed of each call,
 * so the samples of a parallel strategy differ.
 */
public final class LeafGenerators implements LeafFactory {
    private final LanguageModel model;
    private final boolean parseSpecial;

    public LeafGenerators(LanguageModel model) {
        this(model, false);
    }

    /**
     * @param parseSpecial whether the sampling and constrained leaves read special-token text in the prompt as
     *                     those tokens: a prompt rendered by a chat template carries {@code <|im_start|>} and the like
     */
    public LeafGenerators(LanguageModel model, boolean parseSpecial) {
        this.model = model;
        this.parseSpecial = parseSpecial;
    }

    /** A parser whose leaves are not built yet: used to check a spec before the model is loaded. */
    public static StrategySpecs validator() {
        return new StrategySpecs(new LeafFactory() {
            @Override
            public Set<String> types() {
                return TYPES;
            }

            @Override
            public Generator create(String type, SpecNode node) {
                node.remainingFields(); // checked again with the model, by DecodingSpec
                return (p, params) -> {
                    throw new IllegalStateException("validation only");
                };
            }
        });
    }

    public static final Set<String> TYPES = Set.of("sample", "greedy", "beam", "contrastive", "constrained");

    @Override
    public Set<String> types() {
        return TYPES;
    }

    @Override
    public Generator create(String type, SpecNode node) {
        if (type.equals("beam") || type.equals("contrastive")) {
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("strategy", type);
            spec.putAll(node.remainingFields());
            try {
                return DecodingSpec.generator(model, spec);
            } catch (dev.metagen.core.MetagenException e) {
                throw new dev.metagen.meta.spec.StrategySpecException(node.path(), dev.metagen.core.MetagenException.describe(e));
            }
        }
        if (type.equals("constrained")) {
            // metagen-control: {"type": "constrained", "regex" | "choice" | "grammar" | "json_schema" | "json_object" | "contains": ...}
            try {
                var constraint = dev.metagen.control.ConstraintSpec.fromFields(node.remainingFields(), model.tokenizer());
                var cg = new dev.metagen.control.ConstrainedGenerator(model, constraint);
                return parseSpecial ? (p, params) -> cg.generate(encode(p, params), params, constraint.start()) : cg;
            } catch (dev.metagen.core.MetagenException | IllegalArgumentException | StackOverflowError e) {
                // a regex, grammar or schema that does not compile (or nests beyond reason) is the spec's error
                throw new dev.metagen.meta.spec.StrategySpecException(node.path(), dev.metagen.core.MetagenException.describe(e));
            }
        }
        SamplingGenerator sg = new SamplingGenerator(model);
        Generator g = parseSpecial ? (p, params) -> sg.generate(encode(p, params), params, t -> {}) : sg;
        return switch (type) {
            case "sample" -> g;
            case "greedy" -> (p, params) -> g.generate(p, params.withSampling(0, 0, 1.0, params.seed()));
            default -> throw new IllegalArgumentException("not a leaf: " + type);
        };
    }

    private int[] encode(dev.metagen.core.Prompt p, dev.metagen.core.GenerationParams params) {
        return model.tokenizer().encode(p.text(), params.addSpecial(), true);
    }
}
