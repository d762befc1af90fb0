package dev.metagen.server;

import dev.metagen.control.TokenConstraint;
import dev.metagen.core.SamplingConfig;

import java.util.List;
import java.util.function.LongFunction;

/**
 * A checked /v1/completions or /v1/chat/completions request, ready to run: tokenized prompts, the sampling chain
 * per seed, at most one constraint or strategy. Choice {@code i} of prompt {@code p} samples with seed
 * {@code seed + p * n + i}, so each output depends only on the request, never on what else runs at the time.
 *
 * @param logprobs     -1 off; else the number of top alternatives per token (0 = only the chosen token's)
 * @param sampling     the adapter chain for a seed
 * @param constraint   the compiled response_format / grammar / regex / json_schema, or null
 * @param strategy     a meta-generation spec (JSON text), or null
 * @param addSpecial   whether a strategy's leaves add BOS to the prompt text (not when a chat template wrote it)
 * @param tools        the declared tools and tool_choice, or null
 */
record CompletionRequest(boolean chat, List<int[]> prompts, List<String> promptTexts, int n, int maxTokens,
                         boolean stream, boolean includeUsage, boolean echo, int logprobs, long seed,
                         List<String> stop, LongFunction<SamplingConfig> sampling, TokenConstraint constraint,
                         String strategy, boolean addSpecial, ToolRequest tools) {
}
