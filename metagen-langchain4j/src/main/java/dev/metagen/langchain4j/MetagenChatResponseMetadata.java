package dev.metagen.langchain4j;

import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.metagen.core.Cost;

import java.util.Map;
import java.util.Objects;

/**
 * LangChain4j's response metadata plus what metagen knows of the call: its whole cost (tokens read and written by
 * every model call, model calls, tool calls, wall time), the strategy that ran, and that strategy's trace.
 */
public class MetagenChatResponseMetadata extends ChatResponseMetadata {
    private final Cost cost;
    private final String strategy;
    private final Map<String, Object> trace;

    protected MetagenChatResponseMetadata(Builder builder) {
        super(builder);
        this.cost = builder.cost;
        this.strategy = builder.strategy;
        this.trace = builder.trace == null ? Map.of() : builder.trace;
    }

    /** What the call cost (all of a strategy's model and tool calls). */
    public Cost cost() {
        return cost;
    }

    /** The strategy's type, or null for a plain generation. */
    public String strategy() {
        return strategy;
    }

    /** The generation's trace: a strategy's candidates, votes, search tree ... (JSON-friendly values). */
    public Map<String, Object> trace() {
        return trace;
    }

    @Override
    public Builder toBuilder() {
        Builder b = builder().cost(cost).strategy(strategy).trace(trace);
        toBuilder(b);
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && o instanceof MetagenChatResponseMetadata m && Objects.equals(cost, m.cost)
                && Objects.equals(strategy, m.strategy) && Objects.equals(trace, m.trace);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), cost, strategy, trace);
    }

    @Override
    public String toString() {
        return "MetagenChatResponseMetadata{" + super.toString() + ", cost=" + cost + ", strategy=" + strategy + "}";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link MetagenChatResponseMetadata}. */
    public static class Builder extends ChatResponseMetadata.Builder<Builder> {
        private Cost cost = Cost.ZERO;
        private String strategy;
        private Map<String, Object> trace;

        public Builder cost(Cost cost) {
            this.cost = cost;
            return this;
        }

        public Builder strategy(String strategy) {
            this.strategy = strategy;
            return this;
        }

        public Builder trace(Map<String, Object> trace) {
            this.trace = trace;
            return this;
        }

        @Override
        public MetagenChatResponseMetadata build() {
            return new MetagenChatResponseMetadata(this);
        }
    }
}
