/** Scorers, verifiers, answer extractors and similarity utilities used by the meta-generators. */
package dev.metagen.meta.score;
