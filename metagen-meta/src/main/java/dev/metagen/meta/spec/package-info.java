/**
 * JSON strategy specs: {@code {"type": NAME, ...parameters, "inner": SPEC}} with snake_case names, parsed with Jackson
 * into composed meta-generators. Leaf generators ({@code sample}, {@code greedy}, {@code beam}) come from a
 * {@link dev.metagen.meta.spec.LeafFactory} that the caller (the CLI) fills in, since meta cannot see the engine.
 */
package dev.metagen.meta.spec;
