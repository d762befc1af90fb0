/**
 * The trace viewer: a generation's trace (search trees, candidates and votes, tokens with their probabilities,
 * costs and budget use) as one self-contained HTML page.
 */
package dev.metagen.meta.trace;
