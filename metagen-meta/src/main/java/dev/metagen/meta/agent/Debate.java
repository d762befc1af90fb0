package dev.metagen.meta.agent;

import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.core.Prompt;
import dev.metagen.meta.MetaGenerator;
import dev.metagen.meta.Scope;
import dev.metagen.meta.Seeds;
import dev.metagen.meta.Stopped;
import dev.metagen.meta.parallel.Votes;
import dev.metagen.meta.score.AnswerExtractor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Multi-agent debate (Du et al., 2023, "Improving Factuality and Reasoning in Language Models through Multiagent
 * Debate"): every agent answers the prompt; then for {@code rounds} rounds every agent reads the other agents' latest
 * answers and revises its own ({@code template} with {@code {prompt}}, {@code {own}}, {@code {others}}); the final
 * answers are aggregated by a majority vote over extracted answers, or by an {@code aggregator} generator that reads
 * them all ({@code aggregatorTemplate} with {@code {prompt}}, {@code {answers}}). Agents may be different generators
 * (different models); the agents of one round run concurrently. Call {@code i} of agent {@code a} in round {@code r}
 * is seeded with index {@code r * agents + a}, so a seeded debate repeats.
 *
 * <p>Example:
 * <pre>{@code
 * MetaGenerator debate = new Debate(List.of(agentA, agentB, agentC), 2, Debate.TEMPLATE,
 *         AnswerExtractors.lastNumber(), null, Debate.AGGREGATOR_TEMPLATE);   // null: a majority vote decides
 * Generation g = debate.generate(Prompt.of("Q: 17 * 3 = ?\nA:"), GenerationParams.greedy(64));
 * // 3 agents answer, then revise twice after reading each other: 9 calls
 * }</pre>
 */
public final class Debate extends MetaGenerator {
    /** The default revision prompt ({@code {prompt}}, {@code {own}}, {@code {others}}). */
    public static final String TEMPLATE = "{prompt}\n\nYour previous answer:\n{own}\n\nThe other agents answered:\n{others}\n\n"
            + "Using their reasoning as additional advice, give an updated answer.\n";
    /** The default aggregator prompt ({@code {prompt}}, {@code {answers}}). */
    public static final String AGGREGATOR_TEMPLATE = "{prompt}\n\nSeveral agents answered:\n{answers}\n\n"
            + "Considering all of them, give the final answer.\n";

    private final List<Generator> agents;
    private final int rounds;
    private final String template;
    private final AnswerExtractor extractor;
    private final Generator aggregator; // null: majority vote
    private final String aggregatorTemplate;

    /**
     * A debate among {@code agents}.
     *
     * @param agents the agents (at least two)
     * @param rounds revision rounds ({@code >= 0})
     * @param template the revision prompt
     * @param extractor extracts the answers of the majority vote
     * @param aggregator aggregates the final answers, or null for a majority vote
     * @param aggregatorTemplate the aggregator's prompt
     */
    public Debate(List<Generator> agents, int rounds, String template, AnswerExtractor extractor,
                  Generator aggregator, String aggregatorTemplate) {
        if (agents.size() < 2) {
            throw new MetagenException("debate: needs at least 2 agents, got " + agents.size());
        }
        if (rounds < 0) {
            throw new MetagenException("debate: rounds must be >= 0, got " + rounds);
        }
        this.agents = List.copyOf(agents);
        this.rounds = rounds;
        this.template = template;
        this.extractor = extractor;
        this.aggregator = aggregator;
        this.aggregatorTemplate = aggregatorTemplate;
    }

    /** One agent's answer in a round. */
    private record Answer(int agent, Generation generation) {
    }

    @Override
    public String name() {
        return "debate";
    }

    /** The other agents' answers, numbered as agents (1-based), without agent {@code self}. */
    static String others(List<Generation> latest, int self) {
        StringBuilder sb = new StringBuilder();
        for (int a = 0; a < latest.size(); a++) {
            if (a != self && latest.get(a) != null) {
                sb.append(sb.isEmpty() ? "" : "\n\n").append("Agent ").append(a + 1).append(": ").append(latest.get(a).text().strip());
            }
        }
        return sb.toString();
    }

    static String fill(String template, Prompt prompt, String own, String others) {
        return template.replace("{prompt}", prompt.text()).replace("{own}", own).replace("{others}", others);
    }

    @Override
    protected Generation search(Prompt prompt, GenerationParams params, Scope scope) {
        int n = agents.size();
        List<Generation> latest = new ArrayList<>(java.util.Collections.nCopies(n, (Generation) null));
        List<List<Map<String, Object>>> roundRows = new ArrayList<>();
        Map<String, Object> trace = new LinkedHashMap<>();
        trace.put("agents", n);
        trace.put("rounds", roundRows);
        try {
            for (int round = 0; round <= rounds; round++) {
                int r = round;
                List<Generation> previous = new ArrayList<>(latest); // may hold nulls: agents stopped before answering
                // a round's agents answer concurrently; each reads only the previous round's answers
                List<Answer> answered = scope.parallel(n, a -> {
                    Prompt p = r == 0 || previous.get(a) == null ? prompt
                            : Prompt.of(fill(template, prompt, previous.get(a).text().strip(), others(previous, a)));
                    return new Answer(a, scope.call(agents.get(a), p, Seeds.params(params, (long) r * n + a)));
                });
                List<Map<String, Object>> rows = new ArrayList<>();
                for (Answer answer : answered) {
                    int a = answer.agent();
                    Generation g = answer.generation();
                    latest.set(a, g);
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("agent", a);
                    row.put("text", g.text());
                    row.put("answer", extractor.extract(g.text()).orElse(null));
                    rows.add(row);
                }
                roundRows.add(rows);
                if (answered.size() < n) {
                    break; // stopped by the budget or cancellation: the latest answers are what there is
                }
            }
        } catch (Stopped s) {
            return partial(vote(latest, params, trace), s, trace);
        }
        if (aggregator == null || stopReason(scope) != null) {
            return result(scope, vote(latest, params, trace), trace);
        }
        StringBuilder answers = new StringBuilder();
        for (int a = 0; a < n; a++) {
            answers.append(a == 0 ? "" : "\n\n").append("Agent ").append(a + 1).append(": ").append(latest.get(a).text().strip());
        }
        Generation fin;
        try {
            fin = scope.call(aggregator, Prompt.of(aggregatorTemplate.replace("{prompt}", prompt.text()).replace("{answers}", answers)),
                    Seeds.params(params, (long) (rounds + 1) * n));
        } catch (Stopped s) {
            return partial(vote(latest, params, trace), s, trace);
        }
        trace.put("aggregator", fin.text());
        trace.put("answer", extractor.extract(fin.text()).orElse(null));
        return result(scope, fin, trace);
    }

    /** The majority answer among the agents' latest answers (ties broken by the seed); null when none answered. */
    private Generation vote(List<Generation> latest, GenerationParams params, Map<String, Object> trace) {
        Votes votes = new Votes();
        String[] answers = new String[latest.size()];
        for (int a = 0; a < latest.size(); a++) {
            if (latest.get(a) != null) {
                Optional<String> ans = extractor.extract(latest.get(a).text());
                if (ans.isPresent()) {
                    answers[a] = ans.get();
                    votes.add(ans.get(), 1);
                }
            }
        }
        trace.put("votes", votes.toTrace());
        if (votes.isEmpty()) {
            trace.put("answer", null);
            for (Generation g : latest) {
                if (g != null) {
                    return g;
                }
            }
            return null;
        }
        String winner = votes.winner(Seeds.derive(params.seed(), -1));
        trace.put("answer", winner);
        for (int a = 0; a < answers.length; a++) {
            if (winner.equals(answers[a])) {
                trace.put("chosen", a);
                return latest.get(a);
            }
        }
        throw new IllegalStateException("winner without an agent");
    }
}
