/**
 * Speculative decoding (Leviathan et al. 2023; Chen et al. 2023): {@link
 * dev.metagen.decoding.speculative.SpeculativeGenerator} verifies drafts from a {@link
 * dev.metagen.decoding.speculative.DraftSource} (a draft model, or prompt lookup after Saxena 2023) in one target
 * forward each, and keeps the target's greedy output or sampling distribution exactly.
 */
package dev.metagen.decoding.speculative;
