/**
 * The OpenAI-compatible server ({@link dev.metagen.server.OpenAiServer}): completions and chat completions over a
 * local model with the decoding, controlled-generation and meta-generation algorithms exposed as request fields
 * (Welleck et al., 2024, sections 2 to 4, as a service).
 */
package dev.metagen.server;
