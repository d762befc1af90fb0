/**
 * Decoder-only transformers (llama, qwen2, qwen3, gemma3, phi3) run from GGUF files, and the machinery that makes meta-generation cheap when its
 * samples and branches run in parallel and share prefixes (Welleck et al. 2024, section 7).
 *
 * <ul>
 *   <li>{@link dev.metagen.engine.model.TransformerModel}: loading and the model API; {@code BatchPlanner} plans
 *       each pass (all new tokens of all states of a call run together, in chunks of rows, one read of the weights
 *       per chunk) and {@code ForwardPass} does the layer math.</li>
 *   <li>Paged KV cache ({@code KvBlockPool}, {@code KvBlock}, {@code KvState}): fixed blocks of 16 positions holding
 *       every layer's keys and values, reference-counted; a state is a block table, so {@code fork()} shares every
 *       block and copies none, the partially filled last block is copied on the first write while shared, and
 *       {@code truncate} / {@code close} release blocks. {@link dev.metagen.engine.model.ModelOptions#kvBudgetBytes}
 *       bounds the cache; running out evicts unreferenced prefix-cache blocks, then fails with a clear error.</li>
 *   <li>Prefix cache ({@code PrefixCache}): a radix tree over the token ids of full blocks, kept across requests
 *       with LRU eviction; a new state's first forward adopts the cached blocks of its prompt and computes only the
 *       rest ({@link dev.metagen.engine.model.ModelOptions#prefixCache} turns it off,
 *       {@link dev.metagen.engine.model.TransformerModel#kvStats} counts hits and reused tokens).</li>
 *   <li>{@link dev.metagen.engine.model.BatchingScheduler}: continuous batching; {@code forward} calls arriving
 *       from several threads while a pass runs are merged into the next pass, each caller getting its own logits,
 *       so parallel strategies on virtual threads and server requests share passes without knowing it.</li>
 * </ul>
 */
package dev.metagen.engine.model;
