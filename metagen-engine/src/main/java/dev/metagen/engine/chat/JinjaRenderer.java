package dev.metagen.engine.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.MetagenException;
import jinjava.javax.el.CompositeELResolver;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Renders one Hugging Face chat template with Jinjava configured as transformers' template environment is
 * ({@code trim_blocks}, {@code lstrip_blocks}) plus the globals, filters and Python methods those templates use.
 */
final class JinjaRenderer {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Variables the caller's extras cannot replace: the conversation itself. */
    private static final Set<String> RESERVED = Set.of("messages", "tools", "add_generation_prompt", "bos_token",
            "eos_token");

    private static final Jinjava JINJAVA = create();

    private final String name;
    private final String source;

    private JinjaRenderer(String name, String source) {
        this.name = name;
        this.source = JinjaDialect.normalize(source);
    }

    static JinjaRenderer compile(String name, String source) {
        return new JinjaRenderer(name, source);
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethodResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                .withMaxOutputSize(64L << 20)
                // Jinja2 semantics where Jinjava keeps its own by default: {{- -}} trimming, operator precedence,
                // iterating a dict gives its keys, null loop values kept
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withIterateOverMapKeys(true)
                        .withEvaluateMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        try {
            jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception",
                    TemplateFunctions.class.getMethod("raiseException", String.class)));
            jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now",
                    TemplateFunctions.class.getMethod("strftimeNow", String.class)));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        jinjava.registerFilter(new ToJsonFilter());
        jinjava.registerFilter(new IndentFilter());
        jinjava.registerTag(new GenerationTag());
        jinjava.registerTag(new FilterBlockTag());
        return jinjava;
    }

    String render(List<ChatMessage> messages, boolean addGenerationPrompt, String toolsJson,
                  Map<String, Object> extra, String bos, String eos) {
        Map<String, Object> vars = new LinkedHashMap<>();
        if (extra != null) {
            extra.forEach((k, v) -> {
                if (!RESERVED.contains(k)) {
                    vars.put(k, v);
                }
            });
        }
        vars.put("messages", toTemplateMessages(messages));
        if (toolsJson != null && !toolsJson.isBlank()) {
            Object tools = parseJson(toolsJson, "tools");
            if (!(tools instanceof List<?>)) {
                throw new MetagenException(name + ": tools must be a JSON array");
            }
            vars.put("tools", tools);
        }
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bos);
        vars.put("eos_token", eos);
        RenderResult result;
        try {
            result = JINJAVA.renderForResult(source, vars);
        } catch (TemplateRaisedException e) {
            throw new MetagenException(name + ": the template raised an error: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new MetagenException(name + ": cannot render the chat template: " + oneLine(e));
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                String raised = TemplateFunctions.raisedMessage(error);
                if (raised != null) {
                    throw new MetagenException(name + ": the template raised an error: " + raised);
                }
                throw new MetagenException(name + ": cannot render the chat template: " + describe(error));
            }
        }
        return result.getOutput();
    }

    private static String describe(TemplateError e) {
        String where = e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "";
        return String.valueOf(e.getMessage()).replace('\n', ' ') + where;
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replace('\n', ' ');
    }

    private Object parseJson(String json, String what) {
        try {
            return JSON.readValue(json, Object.class);
        } catch (JsonProcessingException e) {
            throw new MetagenException(name + ": " + what + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Messages as the dicts templates index ({@code message['role']}, {@code message.tool_calls}). */
    private List<Map<String, Object>> toTemplateMessages(List<ChatMessage> messages) {
        List<Map<String, Object>> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("role", m.role());
            d.put("content", m.content());
            if (m.name() != null) {
                d.put("name", m.name());
            }
            if (m.hasToolCalls()) {
                List<Map<String, Object>> calls = new ArrayList<>();
                for (ChatMessage.ToolCall c : m.toolCalls()) {
                    Map<String, Object> fn = new LinkedHashMap<>();
                    fn.put("name", c.name());
                    // templates expect the arguments as a dict (they apply tojson or iterate items())
                    fn.put("arguments", parseJson(c.argumentsJson(), "arguments of tool call " + c.name()));
                    Map<String, Object> call = new LinkedHashMap<>();
                    call.put("type", "function");
                    call.put("function", fn);
                    if (c.id() != null) {
                        call.put("id", c.id());
                    }
                    calls.add(call);
                }
                d.put("tool_calls", calls);
            }
            if (m.toolCallId() != null) {
                d.put("tool_call_id", m.toolCallId());
            }
            out.add(d);
        }
        return out;
    }
}
