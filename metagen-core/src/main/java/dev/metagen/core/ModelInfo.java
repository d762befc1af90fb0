package dev.metagen.core;

/**
 * What a caller needs to know about a language model.
 *
 * @param name the model's name (from its metadata or file)
 * @param architecture the architecture, e.g. {@code llama}
 * @param vocabSize the vocabulary size
 * @param contextLength the longest context the model was trained for
 * @param embeddingLength the width of its hidden state
 * @param layers the number of transformer blocks
 * @param parameters the number of weights
 * @param tensorType the weights' main storage type, e.g. {@code Q8_0}
 */
public record ModelInfo(String name, String architecture, int vocabSize, int contextLength,
                        int embeddingLength, int layers, long parameters, String tensorType) {}
