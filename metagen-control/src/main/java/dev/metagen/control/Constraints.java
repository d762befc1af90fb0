package dev.metagen.control;

import dev.metagen.control.grammar.Expr;
import dev.metagen.control.grammar.GbnfParser;
import dev.metagen.control.grammar.Grammar;
import dev.metagen.control.json.JsonSchemaCompiler;
import dev.metagen.control.regex.RegexParser;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry points: compile a regex, a choice, a GBNF grammar or a JSON Schema into a {@link TokenConstraint}.
 *
 * <p>Example:
 * <pre>{@code
 * Tokenizer tok = model.tokenizer();
 * Generator digits = new ConstrainedGenerator(model, Constraints.regex("[0-9]{3}", tok));
 * Generation g = digits.generate(Prompt.of("Lily counted to"), GenerationParams.greedy(8));   // three digits
 * }</pre>
 */
public final class Constraints {
    private Constraints() {}

    /**
     * The grammar of a regular expression (implicitly anchored).
     *
     * @param regex the regular expression
     * @return the grammar
     */
    public static Grammar regexGrammar(String regex) {
        return Grammar.of(RegexParser.parse(regex));
    }

    /**
     * The constraint of a regular expression (implicitly anchored), for {@code tok}.
     *
     * @param regex the regular expression
     * @param tok the tokenizer
     * @return the constraint
     */
    public static GrammarConstraint regex(String regex, Tokenizer tok) {
        return GrammarConstraint.of(regexGrammar(regex), tok, "regex /" + regex + "/");
    }

    /**
     * The grammar accepting exactly one of {@code options}.
     *
     * @param options the allowed outputs
     * @return the grammar
     */
    public static Grammar choiceGrammar(List<String> options) {
        if (options.isEmpty()) {
            throw new MetagenException("--choice needs at least one option");
        }
        List<Expr> alts = new ArrayList<>();
        for (String o : options) {
            alts.add(Expr.literal(o));
        }
        return Grammar.of(new Expr.Alt(alts));
    }

    /**
     * The constraint accepting exactly one of {@code options}, for {@code tok}.
     *
     * @param options the allowed outputs
     * @param tok the tokenizer
     * @return the constraint
     */
    public static GrammarConstraint choice(List<String> options, Tokenizer tok) {
        return GrammarConstraint.of(choiceGrammar(options), tok, "choice " + options);
    }

    /**
     * Lexical constraints: the output contains every one of {@code words} (1 to 5), in any order.
     *
     * @param words the required words
     * @param tok the tokenizer
     * @return the constraint
     */
    public static GrammarConstraint containsAll(List<String> words, Tokenizer tok) {
        return GrammarConstraint.of(LexicalConstraints.containsAll(words), tok, "contains " + words);
    }

    /**
     * The constraint of a GBNF grammar (llama.cpp's format, root rule {@code root}), for {@code tok}.
     *
     * @param gbnf the grammar's text
     * @param tok the tokenizer
     * @return the constraint
     */
    public static GrammarConstraint gbnf(String gbnf, Tokenizer tok) {
        return GrammarConstraint.of(GbnfParser.parse(gbnf), tok, "grammar");
    }

    /**
     * Any JSON value whose top level is an object (OpenAI's {@code json_object} response format).
     *
     * @param tok the tokenizer
     * @return the constraint
     */
    public static GrammarConstraint jsonObject(Tokenizer tok) {
        return GrammarConstraint.of(JsonSchemaCompiler.jsonObjectGrammar(), tok, "json_object");
    }

    /**
     * The constraint of a JSON Schema, for {@code tok}.
     *
     * @param schemaJson the schema's JSON text
     * @param bestEffort drop unsupported keywords instead of failing
     * @param tok the tokenizer
     * @return the constraint
     */
    public static GrammarConstraint jsonSchema(String schemaJson, boolean bestEffort, Tokenizer tok) {
        JsonSchemaCompiler.Result r = JsonSchemaCompiler.compile(schemaJson, bestEffort);
        return GrammarConstraint.of(r.grammar(), tok, "JSON Schema");
    }

    /**
     * Compiles the constraint of a call's parameters for {@code tok}.
     *
     * @param c the constraint
     * @param tok the tokenizer
     * @return the compiled constraint
     */
    public static TokenConstraint compile(dev.metagen.core.OutputConstraint c, Tokenizer tok) {
        return switch (c.kind()) {
            case REGEX -> regex(c.source(), tok);
            case GRAMMAR -> gbnf(c.source(), tok);
            case JSON_SCHEMA -> jsonSchema(c.source(), c.bestEffort(), tok);
            case JSON_OBJECT -> jsonObject(tok);
            case CHOICE -> choice(c.options(), tok);
            case CONTAINS -> containsAll(c.options(), tok);
        };
    }
}
