package dev.metagen.meta.spec;

import dev.metagen.core.GenerationParams;
import dev.metagen.meta.cascade.Cascade;
import dev.metagen.meta.chain.Chain;
import dev.metagen.meta.refine.Refine;
import dev.metagen.meta.refine.SelfRefine;
import com.google.re2j.Pattern;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.score.UserRegex;
import dev.metagen.meta.score.Verifier;
import dev.metagen.meta.tools.Calculator;
import dev.metagen.meta.tools.CodeTestVerifier;
import dev.metagen.meta.tools.Sandbox;
import dev.metagen.meta.tools.Tool;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Spec types of refinement, chains, tools and cascades: {@code self_refine}, {@code refine}, {@code chain}, {@code cascade}. */
final class CompositionSpecs {
    private CompositionSpecs() {
    }

    /**
     * A code tool's limits: each field the spec gives must be within the operator's ceiling (else an error naming
     * the field, the ceiling and the flag that sets it); a field it leaves out is the default, lowered to the ceiling.
     */
    static Sandbox.Limits limits(SpecNode n, Sandbox.Limits ceiling) {
        Sandbox.Limits d = Sandbox.Limits.DEFAULT.atMost(ceiling);
        long timeoutMs = capped(n, "timeout_ms", n.longValue("timeout_ms", d.wall().toMillis(), 1), ceiling.wall().toMillis(), "--sandbox-timeout-ms");
        long memoryMb = capped(n, "memory_mb", n.longValue("memory_mb", d.memoryBytes() >> 20, 16), ceiling.memoryBytes() >> 20, "--sandbox-memory-mb");
        int cpu = (int) capped(n, "cpu_seconds", n.integer("cpu_seconds", d.cpuSeconds(), 1), ceiling.cpuSeconds(), "--sandbox-cpu-seconds");
        int output = (int) capped(n, "max_output_bytes", n.integer("max_output_bytes", d.maxOutputBytes(), 1), ceiling.maxOutputBytes(), "--sandbox-max-output-bytes");
        return new Sandbox.Limits(Duration.ofMillis(timeoutMs), memoryMb << 20, cpu, output, ceiling.processes(), ceiling.fileBytes());
    }

    private static long capped(SpecNode n, String field, long value, long ceiling, String flag) {
        if (value > ceiling) {
            throw new StrategySpecException(n.path(field), value + " is above the operator's limit of " + ceiling
                    + " (" + flag + "); a spec may only lower the sandbox's limits");
        }
        return value;
    }

    static Tool tool(SpecNode n, Sandbox.Limits ceiling) {
        String type = n.type("tool");
        Tool t = switch (type) {
            case "calculator" -> new Calculator();
            case "python" -> Sandbox.python(limits(n, ceiling));
            default -> throw new StrategySpecException(n.path("type"), "unknown tool '" + type + "' (known: calculator, python)");
        };
        n.requireAllUsed();
        return t;
    }

    /** A user pattern on the linear-time engine; one it cannot run is refused naming the field. */
    static Pattern regex(SpecNode n, String field, String fallback) {
        String p = fallback == null ? n.string(field) : n.string(field, fallback);
        try {
            return UserRegex.compile(p);
        } catch (MetagenException e) {
            throw new StrategySpecException(n.path(field), e.getMessage());
        }
    }

    static void register(StrategySpecs specs) {
        specs.registerScorer("python_tests", n -> new CodeTestVerifier(Sandbox.python(limits(n, specs.sandboxCeiling())), n.string("tests"),
                n.bool("prefix_prompt", false)));
        specs.registerStrategy("refine", n -> new Refine(specs.generator(n.requireChild("inner")),
                specs.verifier(n.requireChild("verifier")), n.integer("max_rounds", 2, 0), n.string("template", Refine.DEFAULT_TEMPLATE)));
        specs.registerStrategy("self_refine", n -> {
            var inner = specs.generator(n.requireChild("inner"));
            var critic = n.has("critic") ? specs.generator(n.requireChild("critic")) : inner;
            return new SelfRefine(inner, critic, n.integer("max_rounds", 2, 0),
                    n.string("feedback_template", SelfRefine.FEEDBACK_TEMPLATE), n.string("refine_template", SelfRefine.REFINE_TEMPLATE),
                    regex(n, "stop_pattern", "(?i)no issues"), GenerationParams.greedy(n.integer("feedback_max_tokens", 32, 1)));
        });
        specs.registerStrategy("cascade", n -> {
            List<Cascade.Stage> stages = new ArrayList<>();
            for (SpecNode s : n.children("stages", 1)) {
                var g = specs.generator(s.requireChild("generator"));
                Verifier v = s.has("verifier") ? specs.verifier(s.requireChild("verifier")) : null;
                stages.add(new Cascade.Stage(g, v, s.number("min_mean_logprob", Double.NEGATIVE_INFINITY, -Double.MAX_VALUE, 0)));
                s.requireAllUsed();
            }
            return new Cascade(stages);
        });
        specs.registerStrategy("chain", n -> {
            List<Chain.Link> links = new ArrayList<>();
            for (SpecNode s : n.children("links", 1)) {
                String kind = s.string("kind");
                String as = s.string("as");
                Chain.Link link = switch (kind) {
                    case "template" -> new Chain.Template(as, s.string("template"));
                    case "generate" -> new Chain.Generate(as, specs.generator(s.requireChild("generator")), s.string("template", "{prompt}"));
                    case "parse" -> new Chain.Parse(as, s.string("from"), specs.extractor(s.requireChild("extractor")), s.string("fallback", ""));
                    case "tool" -> new Chain.CallTool(as, tool(s.requireChild("tool"), specs.sandboxCeiling()), s.string("template"));
                    default -> throw new StrategySpecException(s.path("kind"), "unknown link kind '" + kind + "' (known: generate, parse, template, tool)");
                };
                s.requireAllUsed();
                links.add(link);
            }
            try {
                return new Chain(links, n.string("output", links.getLast().as()));
            } catch (dev.metagen.core.MetagenException e) {
                throw new StrategySpecException(n.path("links"), MetagenException.describe(e));
            }
        });
    }
}
