package dev.metagen.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;

import java.util.Map;

/**
 * Jinja2's {@code is iterable}: strings, sequences and mappings are iterable (Jinjava's own test leaves strings
 * out, which turns templates' "content is iterable" branches the other way).
 */
final class IterableTest implements ExpTest {
    @Override
    public String getName() {
        return "iterable";
    }

    @Override
    public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
        return var instanceof CharSequence || var instanceof Iterable<?> || var instanceof Map<?, ?>
                || (var != null && var.getClass().isArray());
    }
}
