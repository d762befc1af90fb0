package dev.metagen.spring;

import org.jspecify.annotations.Nullable;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptionsBuilder;
import org.springframework.ai.model.tool.DefaultStructuredOutputChatOptions;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Spring AI's portable chat options plus metagen's sampling seed and the native structured-output schema (decoded as
 * a JSON Schema constraint), and the tool choice. It is a {@link ToolCallingChatOptions}: tools given to a
 * {@code ChatClient} reach the model, which declares them to the model through its chat template. Options of another provider's type
 * cannot be combined with these: their own settings would be lost.
 */
public final class MetagenChatOptions implements ToolCallingChatOptions, StructuredOutputChatOptions {
    /** Builder types whose every setting these options take over. */
    private static final Set<Class<?>> KNOWN = Set.of(DefaultChatOptionsBuilder.class, DefaultToolCallingChatOptions.Builder.class,
            DefaultStructuredOutputChatOptions.Builder.class, Builder.class);

    private final @Nullable String model;
    private final @Nullable Double frequencyPenalty;
    private final @Nullable Integer maxTokens;
    private final @Nullable Double presencePenalty;
    private final @Nullable List<String> stopSequences;
    private final @Nullable Double temperature;
    private final @Nullable Integer topK;
    private final @Nullable Double topP;
    private final @Nullable Long seed;
    private final @Nullable String outputSchema;
    private final @Nullable String toolChoice;
    private final @Nullable List<ToolCallback> toolCallbacks;
    private final @Nullable Map<String, Object> toolContext;

    private MetagenChatOptions(Builder b) {
        this.model = b.model();
        this.frequencyPenalty = b.frequencyPenalty();
        this.maxTokens = b.maxTokens();
        this.presencePenalty = b.presencePenalty();
        this.stopSequences = b.stopSequences() == null ? null : List.copyOf(b.stopSequences());
        this.temperature = b.temperature();
        this.topK = b.topK();
        this.topP = b.topP();
        this.seed = b.seed;
        this.outputSchema = b.outputSchema;
        this.toolChoice = b.toolChoice;
        this.toolCallbacks = b.toolCallbacks() == null ? null : List.copyOf(b.toolCallbacks());
        this.toolContext = b.toolContext() == null ? null : Map.copyOf(b.toolContext());
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override public @Nullable String getModel() { return model; }
    @Override public @Nullable Double getFrequencyPenalty() { return frequencyPenalty; }
    @Override public @Nullable Integer getMaxTokens() { return maxTokens; }
    @Override public @Nullable Double getPresencePenalty() { return presencePenalty; }
    @Override public @Nullable List<String> getStopSequences() { return stopSequences; }
    @Override public @Nullable Double getTemperature() { return temperature; }
    @Override public @Nullable Integer getTopK() { return topK; }
    @Override public @Nullable Double getTopP() { return topP; }
    /** The sampling seed, or null for a fresh random one per call. */
    public @Nullable Long getSeed() { return seed; }
    @Override public @Nullable String getOutputSchema() { return outputSchema; }
    /** {@code auto} (default), {@code none}, {@code required}, or the name of the one tool that must be called. */
    public @Nullable String getToolChoice() { return toolChoice; }
    @Override public @Nullable List<ToolCallback> getToolCallbacks() { return toolCallbacks; }
    @Override public @Nullable Map<String, Object> getToolContext() { return toolContext; }

    @Override
    public Builder mutate() {
        Builder b = builder().model(model).frequencyPenalty(frequencyPenalty).maxTokens(maxTokens)
                .presencePenalty(presencePenalty).stopSequences(stopSequences).temperature(temperature).topK(topK)
                .topP(topP).seed(seed).outputSchema(outputSchema).toolChoice(toolChoice).toolCallbacks(toolCallbacks);
        if (toolContext != null) {
            b.toolContext(toolContext);
        }
        return b;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetagenChatOptions m && Objects.equals(model, m.model) && Objects.equals(frequencyPenalty, m.frequencyPenalty)
                && Objects.equals(maxTokens, m.maxTokens) && Objects.equals(presencePenalty, m.presencePenalty)
                && Objects.equals(stopSequences, m.stopSequences) && Objects.equals(temperature, m.temperature)
                && Objects.equals(topK, m.topK) && Objects.equals(topP, m.topP) && Objects.equals(seed, m.seed)
                && Objects.equals(outputSchema, m.outputSchema) && Objects.equals(toolChoice, m.toolChoice)
                && Objects.equals(toolCallbacks, m.toolCallbacks)
                && Objects.equals(toolContext, m.toolContext);
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, frequencyPenalty, maxTokens, presencePenalty, stopSequences, temperature, topK, topP,
                seed, outputSchema, toolChoice, toolCallbacks, toolContext);
    }

    @Override
    public String toString() {
        return "MetagenChatOptions{model=" + model + ", temperature=" + temperature + ", topP=" + topP + ", topK=" + topK
                + ", maxTokens=" + maxTokens + ", stop=" + stopSequences + ", frequencyPenalty=" + frequencyPenalty
                + ", presencePenalty=" + presencePenalty + ", seed=" + seed + ", outputSchema=" + (outputSchema != null) + ", toolChoice=" + toolChoice + "}";
    }

    /** Builds {@link MetagenChatOptions}. */
    public static final class Builder extends DefaultToolCallingChatOptions.Builder<Builder>
            implements StructuredOutputChatOptions.Builder<Builder> {
        private @Nullable Long seed;
        private @Nullable String outputSchema;
        private @Nullable String toolChoice;

        @Nullable String model() { return model; }
        @Nullable Double frequencyPenalty() { return frequencyPenalty; }
        @Nullable Integer maxTokens() { return maxTokens; }
        @Nullable Double presencePenalty() { return presencePenalty; }
        @Nullable List<String> stopSequences() { return stopSequences; }
        @Nullable Double temperature() { return temperature; }
        @Nullable Integer topK() { return topK; }
        @Nullable Double topP() { return topP; }
        @Nullable List<ToolCallback> toolCallbacks() { return toolCallbacks; }
        @Nullable Map<String, Object> toolContext() { return toolContext; }

        public Builder seed(@Nullable Long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Whether the answer may call a tool ({@code auto}, the default), must not ({@code none}), must call one
         * ({@code required}) or must call the tool of this name; a required call is decoded under the call's JSON
         * Schema, so its arguments always parse.
         */
        public Builder toolChoice(@Nullable String toolChoice) {
            this.toolChoice = toolChoice;
            return this;
        }

        @Override
        public Builder outputSchema(@Nullable String outputSchema) {
            this.outputSchema = outputSchema;
            return this;
        }

        /**
         * Takes every setting {@code other} gives (stop sequences are added, without repeats); a builder of another
         * provider's options is refused, since its own settings could not be applied.
         */
        @Override
        public Builder combineWith(ChatOptions.Builder<?> other) {
            if (other == null) {
                return this;
            }
            if (!KNOWN.contains(other.getClass())) {
                throw new IllegalArgumentException("metagen cannot apply chat options of type " + other.getClass().getName()
                        + " (their provider-specific settings would be lost); use MetagenChatOptions");
            }
            super.combineWith(other);
            if (stopSequences != null) {
                stopSequences = new ArrayList<>(new LinkedHashSet<>(stopSequences));
            }
            switch (other) {
                case Builder m -> {
                    if (m.seed != null) {
                        seed = m.seed;
                    }
                    if (m.outputSchema != null) {
                        outputSchema = m.outputSchema;
                    }
                    if (m.toolChoice != null) {
                        toolChoice = m.toolChoice;
                    }
                }
                case DefaultStructuredOutputChatOptions.Builder<?> s -> {
                    String schema = s.build().getOutputSchema();
                    if (schema != null) {
                        outputSchema = schema;
                    }
                }
                default -> {
                }
            }
            return this;
        }

        @Override
        public Builder clone() {
            Builder copy = super.clone();
            copy.seed = seed;
            copy.outputSchema = outputSchema;
            copy.toolChoice = toolChoice;
            return copy;
        }

        @Override
        public MetagenChatOptions build() {
            return new MetagenChatOptions(this);
        }
    }
}
