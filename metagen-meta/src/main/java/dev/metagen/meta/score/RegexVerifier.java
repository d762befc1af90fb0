package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;

import com.google.re2j.Pattern;

/**
 * Accepts a candidate whose text contains a match of a regular expression (RE2 syntax, linear-time: see {@link UserRegex}).
 *
 * @param pattern the compiled pattern
 */
public record RegexVerifier(Pattern pattern) implements Verifier {
    /**
     * A verifier of an RE2 regular expression.
     *
     * @param regex the expression
     * @return the verifier
     */
    public static RegexVerifier of(String regex) {
        return new RegexVerifier(UserRegex.compile(regex));
    }

    @Override
    public Verdict verify(Prompt prompt, Generation candidate) {
        boolean ok = pattern.matcher(candidate.text()).find();
        return new Verdict(ok, ok ? "matches /" + pattern + "/" : "does not match /" + pattern + "/");
    }
}
