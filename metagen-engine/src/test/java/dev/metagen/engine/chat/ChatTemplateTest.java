package dev.metagen.engine.chat;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The Jinja dialect chat templates are written in, as rendered by {@link ChatTemplate}. */
class ChatTemplateTest {

    private static String render(String source, Map<String, Object> vars) {
        return ChatTemplate.of("t", source, "<s>", "</s>").render(List.of(ChatMessage.user("hi")), false, null, vars);
    }

    @Test
    void qwen25RendersTheExactChatMlPrompt() throws Exception {
        String src = Files.readString(SharedData.datasets().resolve("chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
        String out = ChatTemplate.of("qwen", src, "", "<|im_end|>").render(List.of(ChatMessage.system("Be brief."),
                ChatMessage.user("Hi"), ChatMessage.assistant("Hello!"), ChatMessage.user("Bye")), true);
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n", out);
    }

    @Test
    void pythonStringMethods() {
        assertEquals("a b|ab|x|True|False|['a', 'b', 'c']|['a', 'b,c']|A-B|Hello World|3|a.b",
                render("{{ '  a b  '.strip() }}|{{ 'xxabxx'.strip('x') }}|{{ 'x\\n'.rstrip() }}"
                        + "|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'y')) }}|{{ 'a,b,c'.split(',') }}"
                        + "|{{ 'a,b,c'.split(',', 1) }}|{{ 'a-b'.upper() }}|{{ 'hello world'.title() }}"
                        + "|{{ 'banana'.count('a') }}|{{ '.'.join(['a', 'b']) }}", Map.of())
                        .replace("true", "True").replace("false", "False"));
    }

    @Test
    void slicesLoopsNamespacesAndTests() {
        assertEquals("[3, 2, 1]|[2, 3]|[1, 2]|bc", render("{{ xs[::-1] }}|{{ xs[1:] }}|{{ xs[:n+1] }}|{{ 'abc'[1:] }}",
                Map.of("xs", List.of(1, 2, 3), "n", 1)));
        assertEquals("1,2,3.", render("{% for x in xs %}{{ x }}{% if not loop.last %},{% else %}.{% endif %}{% endfor %}",
                Map.of("xs", List.of(1, 2, 3))));
        assertEquals("3", render("{% set ns = namespace(total=0) %}{% for x in xs %}{% set ns.total = ns.total + x %}"
                + "{% endfor %}{{ ns.total }}", Map.of("xs", List.of(1, 2))));
        assertEquals("yes|no|yes", render("{{ 'yes' if not missing is defined else 'no' }}|{{ 'yes' if xs is string"
                + " else 'no' }}|{{ 'yes' if 'abc' is iterable else 'no' }}", Map.of("xs", List.of(1))));
        assertEquals("13", render("{% for x in xs if x is odd %}{{ x }}{% endfor %}", Map.of("xs", List.of(1, 2, 3))));
        assertEquals("-a,ab,bc-", render("{% for x in xs %}{{ loop.previtem or '-' }}{{ x }}"
                + "{% if not loop.last %},{% endif %}{% endfor %}{{ '-' }}", Map.of("xs", List.of("a", "b", "c"))));
        assertEquals("a=1;b=2;", render("{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}",
                Map.of("d", new java.util.LinkedHashMap<>(Map.of("a", 1)) {{ put("b", 2); }})));
    }

    @Test
    void tojsonIsPythonsJsonDumps() {
        java.util.Map<String, Object> d = new java.util.LinkedHashMap<>();
        d.put("a", java.util.Arrays.asList(1, 2.5, "x\"y", null, true));
        d.put("é", Map.of());
        assertEquals("{\"a\": [1, 2.5, \"x\\\"y\", null, true], \"é\": {}}", render("{{ d | tojson }}", Map.of("d", d)));
        assertEquals("{\n  \"a\": [\n    1\n  ]\n}", render("{{ d | tojson(indent=2) }}", Map.of("d", Map.of("a", List.of(1)))));
        assertEquals("{'a': [1, 'b', None]}", render("{{ d }}", Map.of("d", Map.of("a", java.util.Arrays.asList(1, "b", null)))));
    }

    @Test
    void helpersAndTags() {
        assertTrue(render("{{ strftime_now('%Y') }}", Map.of()).matches("\\d{4}"));
        assertEquals("x", render("{% generation %}x{% endgeneration %}", Map.of()));
        assertEquals("ab", render("{% filter trim %}  ab  {% endfilter %}", Map.of()));
        assertEquals("a\n  b", render("{{ 'a\\nb' | indent(2) }}", Map.of()));
        assertEquals("  a\n  b", render("{{ 'a\\nb' | indent(2, first=true) }}", Map.of()));
        assertEquals("[{{x}}]", render("{{ '[{{x}}]' }}", Map.of()), "output is text, never rendered again");
    }

    @Test
    void errorsAreOneLineMetagenExceptionsNamingTheTemplate() {
        MetagenException raised = assertThrows(MetagenException.class, () -> ChatTemplate.of("my.jinja",
                "{{ raise_exception('Conversation roles must alternate') }}", "", "").render(List.of(), true));
        assertEquals("my.jinja: the template raised an error: Conversation roles must alternate", raised.getMessage());
        MetagenException syntax = assertThrows(MetagenException.class, () -> ChatTemplate.of("bad.jinja",
                "{% for m in messages %}{{ m.content }", "", "").render(List.of(ChatMessage.user("x")), true));
        assertTrue(syntax.getMessage().startsWith("bad.jinja: "), syntax.getMessage());
        assertFalse(syntax.getMessage().contains("\n"));
        MetagenException filter = assertThrows(MetagenException.class,
                () -> ChatTemplate.of("f.jinja", "{{ x | nosuch }}", "", ""));
        assertEquals("f.jinja: unknown filter 'nosuch'", filter.getMessage());
        assertThrows(MetagenException.class, () -> ChatTemplate.of("e.jinja", " ", "", ""));
        MetagenException tools = assertThrows(MetagenException.class, () -> ChatTemplate.of("t.jinja", "{{ tools }}", "", "")
                .render(List.of(), true, "{not json", Map.of()));
        assertTrue(tools.getMessage().startsWith("t.jinja: tools is not valid JSON"), tools.getMessage());
        assertThrows(MetagenException.class, () -> new ChatMessage(" ", "x"));
    }

    @Test
    void toolCallsReachTheTemplateAsDicts() {
        String src = "{% for m in messages %}{% for c in m.tool_calls %}{{ c.id }}:{{ c.function.name }}"
                + "{{ c.function.arguments | tojson }}{% endfor %}{% if m.role == 'tool' %}[{{ m.tool_call_id }}"
                + "={{ m.content }}]{% endif %}{% endfor %}{{ tools[0].function.name }}";
        String out = ChatTemplate.of(src, "", "").render(List.of(
                ChatMessage.assistant(null, List.of(new ChatMessage.ToolCall("c1", "f", "{\"x\": 1}"))),
                ChatMessage.tool("c1", "f", "42")), false, "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]", Map.of());
        assertEquals("c1:f{\"x\": 1}[c1=42]f", out);
    }

    @Test
    void modelsWithoutATemplateGetTheFallback() {
        try (GgufFile f = GgufFile.open(SharedData.stories260k())) {
            assertTrue(ChatTemplate.fromModel(f).isEmpty());
        }
        ChatTemplate fb = ChatTemplate.fallback();
        assertTrue(fb.isFallback());
        assertEquals("System: Be nice.\n\nUser: Hi\n\nAssistant:", fb.render(List.of(ChatMessage.system("Be nice."),
                ChatMessage.user("Hi")), true));
        assertEquals(List.of("\nUser:"), fb.stopStrings());
    }

    @Test
    void phi3VocabularyCarriesARealTemplate() {
        try (GgufFile f = GgufFile.open(SharedData.tokenizers().resolve("ggml-vocab-phi-3.gguf"))) {
            ChatTemplate t = ChatTemplate.fromModel(f).orElseThrow();
            assertEquals("<s>", t.bosToken());
            assertTrue(t.stopStrings().contains("<|end|>"), t.stopStrings().toString());
            assertEquals("<s><|user|>\nHi<|end|>\n<|assistant|>\n", t.render(List.of(ChatMessage.user("Hi")), true));
        }
    }
}
