package dev.metagen.meta.tools;

import dev.metagen.core.Generation;
import dev.metagen.core.Prompt;
import dev.metagen.meta.Scope;
import dev.metagen.meta.score.ScopedVerifier;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Unit-test feedback (as in Chen et al., 2023, "Teaching large language models to self-debug"): the candidate's code
 * (its last fenced code block, else the prompt's code prefix plus the whole text) is run with {@code tests} appended in
 * a {@link Sandbox}; it is accepted when the run exits cleanly, and the failure line (or the stop reason) is the feedback.
 *
 * @param sandbox where the code runs
 * @param tests the test code appended to the candidate's
 * @param prefixPrompt whether a candidate without a fenced block is the prompt's code plus its text
 */
public record CodeTestVerifier(Sandbox sandbox, String tests, boolean prefixPrompt) implements ScopedVerifier {
    private static final Pattern FENCE = Pattern.compile("```[a-zA-Z0-9]*\\n(.*?)```", Pattern.DOTALL);

    static String code(Prompt prompt, String text, boolean prefixPrompt) {
        Matcher m = FENCE.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        if (last != null) {
            return last;
        }
        return prefixPrompt ? prompt.text() + text : text;
    }

    @Override
    public Verdict verify(Prompt prompt, Generation candidate, Scope scope) {
        String program = code(prompt, candidate.text(), prefixPrompt) + "\n\n" + tests + "\n";
        ToolResult r = Tools.call(scope, sandbox, program);
        return new Verdict(r.ok(), r.ok() ? "all tests passed" : r.error());
    }
}
