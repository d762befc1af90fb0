package dev.metagen.spring;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code metagen.*} settings of the auto-configured chat model: which model, on which backend, under which
 * strategy, and the default request options.
 */
@ConfigurationProperties(prefix = "metagen")
public class MetagenProperties {
    /** A .gguf path, hf:OWNER/REPO/FILE.gguf or llamacpp:REF; default the command line's default model. */
    private String model = dev.metagen.runtime.chat.ChatEngine.DEFAULT_MODEL;
    /** A strategy spec (inline JSON or a file) that every call runs; empty: plain generation. */
    private String strategy;
    /** pure-java or llamacpp. */
    private String backend = "pure-java";
    /** Named models for the strategy's leaves, judges and guidance ("model": "NAME"). */
    private Map<String, String> models = new LinkedHashMap<>();
    /** Engine threads (0: all processors). */
    private int threads;
    /** Context length in tokens (0: the model's, capped at 4096). */
    private int contextLength;
    /** The name reported as the model's (default: the model file's name). */
    private String modelName;
    /** Default request options. */
    private final Options options = new Options();

    /** Default request options (a prompt's own options override them). */
    public static class Options {
        private Integer maxTokens;
        private Double temperature;
        private Double topP;
        private Integer topK;
        private Double frequencyPenalty;
        private Double presencePenalty;
        private List<String> stopSequences;
        private Long seed;

        public Integer getMaxTokens() { return maxTokens; }
        public void setMaxTokens(Integer v) { maxTokens = v; }
        public Double getTemperature() { return temperature; }
        public void setTemperature(Double v) { temperature = v; }
        public Double getTopP() { return topP; }
        public void setTopP(Double v) { topP = v; }
        public Integer getTopK() { return topK; }
        public void setTopK(Integer v) { topK = v; }
        public Double getFrequencyPenalty() { return frequencyPenalty; }
        public void setFrequencyPenalty(Double v) { frequencyPenalty = v; }
        public Double getPresencePenalty() { return presencePenalty; }
        public void setPresencePenalty(Double v) { presencePenalty = v; }
        public List<String> getStopSequences() { return stopSequences; }
        public void setStopSequences(List<String> v) { stopSequences = v; }
        public Long getSeed() { return seed; }
        public void setSeed(Long v) { seed = v; }

        MetagenChatOptions toOptions() {
            return MetagenChatOptions.builder().maxTokens(maxTokens).temperature(temperature).topP(topP).topK(topK)
                    .frequencyPenalty(frequencyPenalty).presencePenalty(presencePenalty).stopSequences(stopSequences)
                    .seed(seed).build();
        }
    }

    public String getModel() { return model; }
    public void setModel(String model) { this.model = model; }
    public String getStrategy() { return strategy; }
    public void setStrategy(String strategy) { this.strategy = strategy; }
    public String getBackend() { return backend; }
    public void setBackend(String backend) { this.backend = backend; }
    public Map<String, String> getModels() { return models; }
    public void setModels(Map<String, String> models) { this.models = models; }
    public int getThreads() { return threads; }
    public void setThreads(int threads) { this.threads = threads; }
    public int getContextLength() { return contextLength; }
    public void setContextLength(int contextLength) { this.contextLength = contextLength; }
    public String getModelName() { return modelName; }
    public void setModelName(String modelName) { this.modelName = modelName; }
    public Options getOptions() { return options; }
}
