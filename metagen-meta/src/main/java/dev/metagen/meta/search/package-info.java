/**
 * Step-level search (Welleck et al., 2024, section 4.3): a solution is a sequence of steps (split by a delimiter or stop
 * string); strategies grow a tree of partial solutions, scored by a process reward {@link dev.metagen.core.Scorer},
 * and return the explored tree in the trace ({@code tree.nodes}: id, parent, depth, step, score, visits, value).
 */
package dev.metagen.meta.search;
