package dev.metagen.engine.chat;

/** Thrown by a template's {@code raise_exception(msg)}: the template rejects the conversation it was given. */
final class TemplateRaisedException extends RuntimeException {
    TemplateRaisedException(String message) {
        super(message, null, false, false);
    }
}
