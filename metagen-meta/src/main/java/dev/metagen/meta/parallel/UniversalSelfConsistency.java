package dev.metagen.meta.parallel;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Universal self-consistency (Chen et al., 2023): N samples are listed in one prompt and a selector model is asked
 * which response is the most consistent with the others; the first response number in its answer is chosen
 * (response 0 when it names none, recorded in the trace).
 */
public final class UniversalSelfConsistency extends MetaGenerator {
    /** The default selector prompt ({@code {prompt}}, {@code {responses}}). */
    public static final String DEFAULT_TEMPLATE = "{prompt}\n\n{responses}\n"
            + "Evaluate these responses.\nSelect the most consistent response based on majority consensus.\n"
            + "The most consistent response is Response ";
    private static final Pattern INDEX = Pattern.compile("\\d+");

    private final Generator inner;
    private final int n;
    private final Generator selector;
    private final String template;
    private final GenerationParams selectorParams;

    /**
     * USC over {@code n} samples of {@code inner}.
     *
     * @param inner the sampled generator
     * @param n the number of samples
     * @param selector picks the most consistent response
     * @param template the selector prompt
     * @param selectorParams the selector's parameters
     */
    public UniversalSelfConsistency(Generator inner, int n, Generator selector, String template, GenerationParams selectorParams) {
        if (n < 1) {
            throw new MetagenException("usc: n must be >= 1, got " + n);
        }
        this.inner = inner;
        this.n = n;
        this.selector = selector;
        this.template = template;
        this.selectorParams = selectorParams;
    }

    @Override
    public String name() {
        return "usc";
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        List<Sampling.Sample> samples = Sampling.sample(scope, inner, prompt, params, 0, n);
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("n", n);
        trace.put("candidates", Sampling.rows(samples));
        if (samples.isEmpty()) {
            return result(scope, null, trace);
        }
        StringBuilder responses = new StringBuilder();
        for (int i = 0; i < samples.size(); i++) {
            responses.append("Response ").append(i).append(":\n").append(samples.get(i).generation().text().strip()).append("\n\n");
        }
        String text = template.replace("{prompt}", prompt.text()).replace("{responses}", responses);
        Generation selection = scope.call(selector, Prompt.of(text), selectorParams);
        trace.put("selector_output", selection.text());
        Matcher m = INDEX.matcher(selection.text());
        int chosen = 0;
        boolean parsed = false;
        if (m.find()) {
            try {
                int k = Integer.parseInt(m.group());
                if (k < samples.size()) {
                    chosen = k;
                    parsed = true;
                }
            } catch (NumberFormatException ignored) {
                // too many digits: not an index, fall back to response 0
            }
        }
        trace.put("selection_parsed", parsed);
        trace.put("chosen", samples.get(chosen).index());
        return result(scope, samples.get(chosen).generation(), trace);
    }
}
