package dev.metagen.meta.spec;

import dev.metagen.core.Generator;

import java.util.Set;

/**
 * Supplies the leaf generators a spec names ({@code sample}, {@code greedy}, {@code beam} ...). The CLI fills it in
 * with generators over the loaded model; tests fill it in with small deterministic generators. The parser applies
 * the common fields ({@code temperature}, {@code top_k}, {@code top_p}, {@code max_tokens}, {@code stop}) itself.
 */
public interface LeafFactory {
    /**
     * The leaf types this factory builds.
     *
     * @return the type names
     */
    Set<String> types();

    /**
     * Builds leaf {@code type}; reads its own extra fields from {@code node} (e.g. a beam width).
     *
     * @param type the leaf type
     * @param node the leaf's spec object
     * @return the leaf generator
     */
    Generator create(String type, SpecNode node);

    /**
     * Builds leaf {@code type} whose fields may hold specs of other parts (a FUDGE discriminator, an SMC potential),
     * which {@code specs} parses.
     *
     * @param type the leaf type
     * @param node the leaf's spec object
     * @param specs parses nested specs
     * @return the leaf generator
     */
    default Generator create(String type, SpecNode node, StrategySpecs specs) {
        return create(type, node);
    }

    /**
     * The local model that a scorer's {@code "model": NAME} names (the default model when absent), for scorers that
     * read a model's logits or score head ({@code orm}, {@code prm}, {@code verifier}); empty when the spec is only
     * checked (the name is checked then). Reads the node's {@code model} field.
     *
     * @param node the node
     * @return the scoring model
     */
    default java.util.Optional<dev.metagen.core.LanguageModel> scoringModel(SpecNode node) {
        throw new StrategySpecException(node.path("type"), "scorers that read a model need a model registry, which this front end does not offer");
    }

    /**
     * The base URL of the remote endpoint that a scorer's {@code "model": NAME} names (an operator's
     * {@code --model NAME=URL}): a spec never carries a URL of its own. Reads the node's {@code model} field.
     *
     * @param node the node
     * @return the endpoint url
     */
    default String endpointUrl(SpecNode node) {
        throw new StrategySpecException(node.path("model"), "no remote endpoints are named here");
    }
}
