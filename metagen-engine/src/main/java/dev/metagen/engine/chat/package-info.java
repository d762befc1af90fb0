/**
 * Chat templates: the Jinja templates (Hugging Face dialect) stored in GGUF metadata that turn a conversation into
 * the model's prompt text, rendered with Jinjava plus the helpers those templates need.
 */
package dev.metagen.engine.chat;
