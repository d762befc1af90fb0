package dev.metagen.meta.spec;

import dev.metagen.core.Generator;
import dev.metagen.core.MetagenException;
import dev.metagen.meta.agents.Debate;

import java.util.ArrayList;
import java.util.List;

/** Spec types of agents: {@code debate}. */
final class AgentSpecs {
    private AgentSpecs() {
    }

    static void register(StrategySpecs specs) {
        specs.registerStrategy("debate", n -> {
            List<Generator> agents = new ArrayList<>();
            if (n.has("agents")) {
                if (n.has("inner") || n.has("n")) {
                    throw new StrategySpecException(n.path("agents"), "give either agents or inner with n, not both");
                }
                for (SpecNode a : n.children("agents", 2)) {
                    agents.add(specs.generator(a));
                }
            } else {
                Generator inner = specs.generator(n.requireChild("inner"));
                int count = n.integer("n", 3, 2);
                for (int i = 0; i < count; i++) {
                    agents.add(inner);
                }
            }
            int rounds = n.integer("rounds", 2, 0);
            String template = n.string("template", Debate.TEMPLATE);
            var extractor = specs.extractor(n.child("extractor"));
            Generator aggregator = n.has("aggregator") ? specs.generator(n.requireChild("aggregator")) : null;
            if (!n.has("aggregator") && n.has("aggregator_template")) {
                throw new StrategySpecException(n.path("aggregator_template"), "needs an aggregator");
            }
            String aggregatorTemplate = n.string("aggregator_template", Debate.AGGREGATOR_TEMPLATE);
            try {
                return new Debate(agents, rounds, template, extractor, aggregator, aggregatorTemplate);
            } catch (MetagenException e) {
                throw new StrategySpecException(n.path(), e.getMessage());
            }
        });
    }
}
