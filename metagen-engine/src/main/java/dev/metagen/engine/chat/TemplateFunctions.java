package dev.metagen.engine.chat;

import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;

import java.time.ZonedDateTime;

/** The global functions transformers adds to the chat template environment. */
public final class TemplateFunctions {
    private TemplateFunctions() {
    }

    /** {@code raise_exception(message)}: abort rendering with the template's own message. */
    public static String raiseException(String message) {
        throw new TemplateRaisedException(message == null ? "(no message)" : message);
    }

    /** {@code strftime_now(format)}: the current local time formatted with Python's strftime codes. */
    public static String strftimeNow(String format) {
        return StrftimeFormatter.format(ZonedDateTime.now(), format);
    }

    /** The message of a {@code raise_exception} call behind a Jinjava error, or null when it has another cause. */
    static String raisedMessage(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TemplateRaisedException r) {
                return r.getMessage();
            }
        }
        String m = error.getMessage();
        if (m != null && m.contains(TemplateRaisedException.class.getName())) {
            return m.substring(m.indexOf(TemplateRaisedException.class.getName())
                    + TemplateRaisedException.class.getName().length()).replaceFirst("^:\\s*", "");
        }
        return null;
    }
}
