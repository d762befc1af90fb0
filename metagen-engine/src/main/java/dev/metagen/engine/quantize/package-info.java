/**
 * GGUF quantization (llama.cpp's {@code llama-quantize}): {@link dev.metagen.engine.quantize.QuantPlan} picks each
 * tensor's type (also used by the synthesizer), {@link dev.metagen.engine.quantize.Quantizer} re-encodes an
 * F32/F16/BF16 file tensor by tensor, and {@link dev.metagen.engine.quantize.GreedyAgreement} measures how closely
 * the result follows its source.
 */
package dev.metagen.engine.quantize;
