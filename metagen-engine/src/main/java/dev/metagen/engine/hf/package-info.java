/**
 * Hugging Face model directories ({@code config.json}, safetensors, {@code tokenizer.json}) read as the GGUF
 * description llama.cpp's {@code convert_hf_to_gguf.py} would write, with the weights memory-mapped as stored, and
 * written as that GGUF file ({@link dev.metagen.engine.hf.HfConverter}).
 */
package dev.metagen.engine.hf;
