package dev.metagen.meta.score;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;

import com.google.re2j.Pattern;

/** Accepts a candidate whose text contains a match of a regular expression (RE2 syntax, linear-time: see {@link UserRegex}). */
public record RegexVerifier(Pattern pattern) implements Verifier {
    public static RegexVerifier of(String regex) {
        return new RegexVerifier(UserRegex.compile(regex));
    }

    @Override
    public Verdict verify(Prompt prompt, Generation candidate) {
        boolean ok = pattern.matcher(candidate.text()).find();
        return new Verdict(ok, ok ? "matches /" + pattern + "/" : "does not match /" + pattern + "/");
    }
}
