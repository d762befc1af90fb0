/** The llama.cpp backend: a {@link dev.metagen.core.LanguageModel} over libllama through java.lang.foreign. */
package dev.metagen.llamacpp;
