/**
 * Controlled generation (Welleck et al. 2024, section 3): token-level constraints compiled to masks over the real
 * vocabulary, and sequence-level control.
 *
 * <p>Every token-level constraint (regex, choice, GBNF, JSON Schema, json_object, lexical, token healing) becomes
 * one byte-level {@link dev.metagen.control.grammar.Grammar}. {@link dev.metagen.control.grammar.CompiledGrammar}
 * flattens it to llama.cpp-style rule tables (checking it is non-empty and not left-recursive);
 * {@link dev.metagen.control.grammar.GrammarAutomaton} runs llama.cpp's stack-set recogniser over bytes as a
 * lazily built, memoised automaton (a true lazy DFA for regular languages); {@link dev.metagen.control.GrammarConstraint}
 * walks the vocabulary's byte trie against it and caches one bitset mask per automaton state. Tokens may span
 * terminals or end inside a UTF-8 character: everything is bytes.
 */
package dev.metagen.control;
