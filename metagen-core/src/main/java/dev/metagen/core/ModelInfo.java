package dev.metagen.core;

/** What a caller needs to know about a language model. */
public record ModelInfo(String name, String architecture, int vocabSize, int contextLength,
                        int embeddingLength, int layers, long parameters, String tensorType) {}
