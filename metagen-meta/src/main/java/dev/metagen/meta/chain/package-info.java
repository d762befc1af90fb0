/** Chains (Welleck et al., 2024, section 4.1): prompt templates, generators, parsers and tools composed into one generator. */
package dev.metagen.meta.chain;
