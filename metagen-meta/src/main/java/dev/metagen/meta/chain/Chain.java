package dev.metagen.meta.chain;

import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.score.AnswerExtractor;
import dev.metagen.meta.tools.Tool;
import dev.metagen.meta.tools.ToolResult;
import dev.metagen.meta.tools.Tools;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A chain of links over named text variables (as in LangChain-style prompt programs; Welleck et al., 2024, section
 * 4.1): {@code prompt} holds the input; each link fills a template with {@code {name}} placeholders, calls a
 * generator, parses with an extractor, or calls a tool, and stores its result under a name. The chain's answer is
 * variable {@code output}; a tool failure is stored as {@code "error: ..."} and the chain goes on.
 *
 * <p>Example:
 * <pre>{@code
 * MetaGenerator chain = new Chain(List.of(
 *         new Chain.Generate("answer", writer, "{prompt}"),
 *         new Chain.Parse("number", "answer", AnswerExtractors.lastNumber(), "0"),
 *         new Chain.CallTool("doubled", new Calculator(), "2 * {number}")),
 *         "doubled");
 * Generation g = chain.generate(Prompt.of("Q: 1 + 1 = ?\nA:"), GenerationParams.greedy(16));
 * }</pre>
 */
public final class Chain extends MetaGenerator {
    /** One link of a chain. */
    public sealed interface Link {
        /**
         * The variable the link's result is stored under.
         *
         * @return the name
         */
        String as();
    }

    /**
     * Fills a template.
     *
     * @param as the variable it sets
     * @param template the template, with {@code {name}} placeholders
     */
    public record Template(String as, String template) implements Link {
    }

    /**
     * Calls a generator on a filled template.
     *
     * @param as the variable it sets
     * @param generator the generator called
     * @param template its prompt template
     */
    public record Generate(String as, Generator generator, String template) implements Link {
    }

    /**
     * Extracts from a variable; {@code fallback} when nothing is found.
     *
     * @param as the variable it sets
     * @param from the variable read
     * @param extractor what it extracts
     * @param fallback the value when nothing is found
     */
    public record Parse(String as, String from, AnswerExtractor extractor, String fallback) implements Link {
    }

    /**
     * Calls a tool on a filled template.
     *
     * @param as the variable it sets
     * @param tool the tool called
     * @param template its input template
     */
    public record CallTool(String as, Tool tool, String template) implements Link {
    }

    private static final Pattern VAR = Pattern.compile("\\{([a-zA-Z_][a-zA-Z0-9_]*)}");
    private final List<Link> links;
    private final String output;

    /**
     * A chain of {@code links} whose answer is variable {@code output}.
     *
     * @param links the links, in order (at least one)
     * @param output the variable returned
     */
    public Chain(List<Link> links, String output) {
        if (links.isEmpty()) {
            throw new MetagenException("chain: needs at least one link");
        }
        this.links = List.copyOf(links);
        this.output = output;
        // every placeholder must name a variable defined before it is used
        List<String> defined = new ArrayList<>(List.of("prompt"));
        for (int i = 0; i < links.size(); i++) {
            Link l = links.get(i);
            String t = switch (l) {
                case Template x -> x.template();
                case Generate x -> x.template();
                case CallTool x -> x.template();
                case Parse x -> "{" + x.from() + "}";
            };
            Matcher m = VAR.matcher(t);
            while (m.find()) {
                if (!defined.contains(m.group(1))) {
                    throw new MetagenException("chain: link " + i + " uses {" + m.group(1) + "} before it is defined (defined: " + defined + ")");
                }
            }
            defined.add(l.as());
        }
        if (!defined.contains(output)) {
            throw new MetagenException("chain: output variable '" + output + "' is never defined (defined: " + defined + ")");
        }
    }

    @Override
    public String name() {
        return "chain";
    }

    static String fill(String template, Map<String, String> vars) {
        Matcher m = VAR.matcher(template);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(vars.get(m.group(1))));
        }
        m.appendTail(sb);
        return sb.toString();
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        Map<String, String> vars = new LinkedHashMap<>();
        Map<String, Generation> generations = new LinkedHashMap<>();
        vars.put("prompt", prompt.text());
        List<Map<String, Object>> steps = new ArrayList<>();
        int call = 0;
        for (Link link : links) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("as", link.as());
            String value;
            switch (link) {
                case Template t -> value = fill(t.template(), vars);
                case Generate g -> {
                    Generation out = scope.call(g.generator(), Prompt.of(fill(g.template(), vars)), Seeds.params(params, call++));
                    generations.put(g.as(), out);
                    value = out.text();
                }
                case Parse p -> value = p.extractor().extract(vars.get(p.from())).orElse(p.fallback());
                case CallTool t -> {
                    ToolResult r = Tools.call(scope, t.tool(), fill(t.template(), vars));
                    value = r.ok() ? r.output().strip() : "error: " + r.error();
                    row.put("tool", t.tool().name());
                    row.put("ok", r.ok());
                }
            }
            if (!(link instanceof Generate)) {
                // the name now holds plain text, not that generation any more
                generations.remove(link.as());
            }
            vars.put(link.as(), value);
            row.put("value", value);
            steps.add(row);
        }
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("steps", steps);
        Generation g = generations.get(output);
        if (g == null) {
            g = new Generation(vars.get(output), new int[0], new double[0], FinishReason.STOP, Cost.ZERO, Map.of());
        }
        return result(scope, g, trace);
    }
}
