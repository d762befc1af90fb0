package dev.metagen.langchain4j;

import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;

import java.util.Objects;

/**
 * LangChain4j's common request parameters plus metagen's sampling seed. Merging with parameters of another
 * provider's type ({@code OpenAiChatRequestParameters} ...) is refused: their own settings would be lost.
 */
public class MetagenChatRequestParameters extends DefaultChatRequestParameters {
    private final Long seed;

    protected MetagenChatRequestParameters(Builder builder) {
        super(builder);
        this.seed = builder.seed;
    }

    /** The sampling seed, or null for a fresh random one per call. */
    public Long seed() {
        return seed;
    }

    @Override
    public ChatRequestParameters overrideWith(ChatRequestParameters that) {
        return builder().overrideWith(this).overrideWith(that).build();
    }

    @Override
    public ChatRequestParameters defaultedBy(ChatRequestParameters that) {
        return builder().overrideWith(that).overrideWith(this).build();
    }

    @Override
    public boolean equals(Object o) {
        return super.equals(o) && Objects.equals(seed, ((MetagenChatRequestParameters) o).seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), seed);
    }

    @Override
    public String toString() {
        return "MetagenChatRequestParameters{" + super.toString() + ", seed=" + seed + "}";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link MetagenChatRequestParameters}. */
    public static class Builder extends DefaultChatRequestParameters.Builder<Builder> {
        private Long seed;

        /** Takes every parameter {@code parameters} gives; a provider-specific type other than ours is refused. */
        @Override
        public Builder overrideWith(ChatRequestParameters parameters) {
            if (parameters == null) {
                return this;
            }
            if (parameters.getClass() != DefaultChatRequestParameters.class && !(parameters instanceof MetagenChatRequestParameters)) {
                throw new UnsupportedFeatureException("metagen cannot apply request parameters of type "
                        + parameters.getClass().getName() + " (their provider-specific settings would be lost);"
                        + " use MetagenChatRequestParameters or DefaultChatRequestParameters");
            }
            super.overrideWith(parameters);
            if (parameters instanceof MetagenChatRequestParameters m && m.seed() != null) {
                seed = m.seed();
            }
            return this;
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        @Override
        public MetagenChatRequestParameters build() {
            return new MetagenChatRequestParameters(this);
        }
    }
}
