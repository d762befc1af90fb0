/**
 * Chat templates: the Jinja templates (Hugging Face dialect) stored in GGUF metadata that turn a conversation into
 * the model's prompt text. {@link dev.metagen.engine.chat.ChatTemplate} is the entry point; rendering goes through
 * Jinjava configured like transformers' Jinja2 environment, with {@code JinjaDialect} rewriting the expressions
 * Jinjava reads differently and the filters, tests, tags and Python string methods that templates rely on.
 */
package dev.metagen.engine.chat;
