/**
 * Token-level generation (Welleck et al., 2024, "From Decoding to Meta-Generation", sections 2-3).
 *
 * <ul>
 *   <li>{@link dev.metagen.decoding.sampling}: sampling adapters, one class each, composed by
 *       {@link dev.metagen.decoding.sampling.SamplerChain} from a {@link dev.metagen.core.SamplingConfig}
 *       in llama.cpp's {@code --samplers} order;</li>
 *   <li>{@link dev.metagen.decoding.SamplingGenerator}: greedy decoding and ancestral sampling with the chain,
 *       stop strings and tokens, per-token log-probabilities and top alternatives;</li>
 *   <li>{@link dev.metagen.decoding.beam}: beam search, diverse beam search, stochastic beam search;</li>
 *   <li>{@link dev.metagen.decoding.ContrastiveSearch}: contrastive search over the model's hidden states;</li>
 *   <li>{@link dev.metagen.decoding.guidance}: adapters that combine a second model or context (contrastive
 *       decoding, product of experts, classifier-free guidance);</li>
 *   <li>{@link dev.metagen.decoding.speculative}: speculative decoding with a draft model or prompt lookup;</li>
 *   <li>{@link dev.metagen.decoding.SequenceScorer}: log-likelihood of a given continuation;</li>
 *   <li>{@link dev.metagen.decoding.DecodingSpec}: any of these from a JSON strategy spec.</li>
 * </ul>
 *
 * Nothing here imports the engine: every algorithm runs on any {@link dev.metagen.core.LanguageModel}.
 */
package dev.metagen.decoding;
