package dev.metagen.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateSyntaxException;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.TagNode;

/** Jinja2's {@code {% filter name %}...{% endfilter %}}: applies a filter (without arguments) to the block's output. */
final class FilterBlockTag implements Tag {
    private static final long serialVersionUID = 1L;

    @Override
    public String getName() {
        return "filter";
    }

    @Override
    public String getEndTagName() {
        return "endfilter";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
        String body = GenerationTag.renderChildren(tagNode, interpreter);
        Object value = body;
        for (String name : tagNode.getHelpers().strip().split("\\s*\\|\\s*")) {
            Filter filter = interpreter.getContext().getFilter(name);
            if (filter == null) {
                throw new TemplateSyntaxException(interpreter, tagNode.getHelpers(),
                        "unknown filter '" + name + "' in a filter block");
            }
            value = filter.filter(value, interpreter);
        }
        return String.valueOf(value);
    }
}
