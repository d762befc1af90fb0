package dev.metagen.engine.chat;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.testing.HfJinja;
import dev.metagen.engine.testing.LlamaCppChatTemplates;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every template in {@code ../shared/datasets/chat-templates} rendered by us and by llama.cpp (build 4916 through
 * de.kherud:llama with {@code --jinja}: its minja interpreter plus its chat-format handlers) on the same
 * conversations, compared byte for byte. Where llama.cpp fails or rewrites the prompt (its generic tool-call
 * handler, polyfills, its ChatML fallback for templates it cannot parse), @huggingface/jinja, which applies the
 * template as transformers does, decides. Writes a per-template report to
 * {@code target/chat-templates-vs-llamacpp.md}.
 */
class ChatTemplateReferenceTest {
    private static final String BOS = "<s>";
    private static final String EOS = "</s>";

    enum Outcome {
        /** byte-identical to llama.cpp. */
        MATCH,
        /** identical once the leading BOS text is removed, as llama.cpp does (its tokenizer adds BOS back). */
        MATCH_BOS_STRIPPED,
        /** llama.cpp differs or fails; ours is identical to @huggingface/jinja's rendering. */
        REFERENCE_DIFFERS_HF_AGREES,
        /** all three reject the conversation (the template raises, e.g. on tool call ids). */
        ALL_REJECT,
        /**
         * no reference applies the template: llama.cpp fails or replaces it (its generic tool-call prompt, its
         * tool-call polyfill) and @huggingface/jinja fails too.
         */
        NO_REFERENCE,
        /** differs from both references for a reason listed in {@link #KNOWN_MISMATCHES}. */
        KNOWN_DIFFERENCE,
        /** unexplained: ours differs from both references, or fails where one renders. */
        MISMATCH
    }

    record Row(String template, String conversation, Outcome outcome, String detail) {
    }

    static List<Path> templateFiles() throws IOException {
        try (Stream<Path> s = Files.list(SharedData.datasets().resolve("chat-templates"))) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jinja")).sorted().toList();
        }
    }

    @Test
    void everyTemplateRendersLikeLlamaCpp() throws Exception {
        List<LlamaCppChatTemplates.Job> jobs = new ArrayList<>();
        Map<String, String> sources = new LinkedHashMap<>();
        for (Path file : templateFiles()) {
            Map<String, String> requests = new LinkedHashMap<>();
            requests.put("standard", Conversations.requestJson(Conversations.STANDARD, null));
            String src = Files.readString(file);
            sources.put(file.getFileName().toString(), src);
            if (ChatTemplate.of(src, "", "").supportsTools()) {
                requests.put("tool-call", Conversations.requestJson(Conversations.TOOL_CALL, Conversations.TOOLS));
            }
            jobs.add(new LlamaCppChatTemplates.Job(file, requests));
        }
        Map<String, Map<String, LlamaCppChatTemplates.Result>> llamaCpp =
                LlamaCppChatTemplates.apply(jobs, Path.of("target", "chat-template-reference"));
        Map<String, JsonNode> convs = new LinkedHashMap<>();
        convs.put("standard", Conversations.hfJson(Conversations.STANDARD, null));
        convs.put("tool-call", Conversations.hfJson(Conversations.TOOL_CALL, Conversations.TOOLS));
        Map<String, Map<String, HfJinja.Result>> hf = HfJinja.render(sources, convs, BOS, EOS);
        String chatml = ChatTemplate.of("chatml", CHATML, BOS, EOS).render(Conversations.STANDARD, true);

        List<Row> rows = new ArrayList<>();
        for (LlamaCppChatTemplates.Job job : jobs) {
            String name = job.template().getFileName().toString();
            ChatTemplate ours = ChatTemplate.of(name, sources.get(name), BOS, EOS);
            for (String conv : job.requests().keySet()) {
                boolean tools = conv.equals("tool-call");
                String mine;
                String oursError = null;
                try {
                    mine = ours.render(tools ? Conversations.TOOL_CALL : Conversations.STANDARD, true,
                            tools ? Conversations.TOOLS : null, Map.of());
                } catch (MetagenException e) {
                    mine = null;
                    oursError = e.getMessage();
                    assertTrue(e.getMessage().startsWith(name + ":"), "error names the template: " + e.getMessage());
                }
                LlamaCppChatTemplates.Result ref = llamaCpp.get(name).get(conv);
                HfJinja.Result arbiter = hf.get(name).get(conv);
                dump(name + "." + conv + ".ours.txt", mine != null ? mine : "ERROR: " + oursError);
                dump(name + "." + conv + ".llamacpp.txt", ref.text() != null ? ref.text() : "ERROR: " + ref.error());
                dump(name + "." + conv + ".hf.txt", arbiter.text() != null ? arbiter.text() : "ERROR: " + arbiter.error());
                Row row = classify(name, conv, mine, oursError, ref, arbiter, !tools && chatml.equals(ref.text()));
                String known = KNOWN_MISMATCHES.get(name + "/" + conv);
                if (row.outcome() == Outcome.MISMATCH && known != null) {
                    row = new Row(name, conv, Outcome.KNOWN_DIFFERENCE, known + " (" + row.detail() + ")");
                }
                rows.add(row);
            }
        }
        Map<Outcome, Integer> counts = writeReport(rows);
        List<Row> mismatches = rows.stream().filter(r -> r.outcome() == Outcome.MISMATCH).toList();
        assertEquals(List.of(), mismatches.stream().map(r -> r.template() + "/" + r.conversation()).toList(),
                "templates rendered differently from both references (see target/chat-templates-vs-llamacpp.md)");
        assertTrue(counts.getOrDefault(Outcome.MATCH, 0) + counts.getOrDefault(Outcome.MATCH_BOS_STRIPPED, 0) >= 60,
                "byte-identical to llama.cpp for most renderings: " + counts);
    }

    /**
     * Text llama.cpp 4916 puts in place of the template's own tool rendering: its generic tool-call system prompt,
     * and its polyfill that writes an assistant's tool calls as JSON content.
     */
    static final List<String> REWRITE_MARKERS = List.of("Respond in JSON format, either with `tool_call`",
            "{\n  \"tool_calls\": [");

    /**
     * Renderings where we knowingly differ from both references, with the reason (checked by hand; see the
     * renderings dumped under target/chat-template-reference/renderings).
     */
    static final Map<String, String> KNOWN_MISMATCHES = Map.of(
            "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja/tool-call",
            "whitespace: a macro's output loses the indentation before its first line (Jinjava's lstrip_blocks)",
            "GigaChat3-10B-A1.8B.jinja/tool-call",
            "a recursive macro returning a type name renders empty (Jinjava macro return value)",
            "GigaChat3.1-10B-A1.8B.jinja/tool-call",
            "a recursive macro returning a type name renders empty (Jinjava macro return value)",
            "Qwen3.5-4B.jinja/tool-call",
            "a macro called with None for a parameter named like an outer variable sees the outer value (Jinjava"
                    + " resolves null arguments in the enclosing scope)",
            "StepFun3.5-Flash.jinja/tool-call",
            "same Jinjava null-argument scoping as Qwen3.5",
            "fireworks-ai-llama-3-firefunction-v2.jinja/standard",
            "llama.cpp passes its own 'functions' and 'datetime' variables; undefined here, printed as null",
            "fireworks-ai-llama-3-firefunction-v2.jinja/tool-call",
            "llama.cpp passes its own 'functions' and 'datetime' variables; undefined here, printed as null",
            "meetkai-functionary-medium-v3.2.jinja/tool-call",
            "llama.cpp passes tool call arguments as a JSON string for this template, transformers (and we) as a"
                    + " dict, which the template prints with Python's str()");

    private static final String CHATML = "{%- for message in messages -%}{{- '<|im_start|>' + message.role + '\\n'"
            + " + message.content + '<|im_end|>\\n' -}}{%- endfor -%}"
            + "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

    private static Row classify(String name, String conv, String mine, String oursError,
                                LlamaCppChatTemplates.Result ref, HfJinja.Result hf, boolean referenceFellBack) {
        if (mine != null && mine.equals(ref.text())) {
            return new Row(name, conv, Outcome.MATCH, "");
        }
        if (mine != null && ref.text() != null && mine.startsWith(BOS) && mine.substring(BOS.length()).equals(ref.text())) {
            return new Row(name, conv, Outcome.MATCH_BOS_STRIPPED, "");
        }
        if (mine == null && ref.text() == null && hf.text() == null) {
            return new Row(name, conv, Outcome.ALL_REJECT, oursError);
        }
        String why = ref.text() == null ? "llama.cpp fails: " + ref.error()
                : referenceFellBack ? "llama.cpp cannot parse it and falls back to ChatML"
                : "llama.cpp " + firstDifference(mine == null ? "" : mine, ref.text());
        if (mine != null && mine.equals(hf.text())) {
            return new Row(name, conv, Outcome.REFERENCE_DIFFERS_HF_AGREES, why);
        }
        if (mine == null && hf.text() == null) {
            return new Row(name, conv, Outcome.REFERENCE_DIFFERS_HF_AGREES, "ours and @huggingface/jinja reject it ("
                    + oursError + "); " + why);
        }
        if (hf.text() == null && (ref.text() == null || REWRITE_MARKERS.stream().anyMatch(ref.text()::contains))) {
            return new Row(name, conv, Outcome.NO_REFERENCE, why + "; @huggingface/jinja fails: " + hf.error());
        }
        String vsHf = hf.text() == null ? "@huggingface/jinja fails: " + hf.error()
                : "vs @huggingface/jinja " + firstDifference(mine == null ? "" : mine, hf.text());
        return new Row(name, conv, Outcome.MISMATCH, (mine == null ? "ours fails: " + oursError + "; " : "")
                + why + "; " + vsHf);
    }

    static String firstDifference(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        int from = Math.max(0, i - 30);
        return "differs at char " + i + ": ours «" + esc(a.substring(from, Math.min(a.length(), i + 50)))
                + "» theirs «" + esc(b.substring(from, Math.min(b.length(), i + 50))) + "»";
    }

    private static String esc(String s) {
        return s.replace("\n", "\\n").replace("|", "\\|");
    }

    /** The three renderings side by side in target/, to diff by hand. */
    private static void dump(String file, String text) {
        try {
            Path dir = Path.of("target", "chat-template-reference", "renderings");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(file), text);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<Outcome, Integer> writeReport(List<Row> rows) throws IOException {
        Map<Outcome, Integer> counts = new TreeMap<>();
        StringBuilder sb = new StringBuilder("| template | conversation | outcome | detail |\n|---|---|---|---|\n");
        for (Row r : rows) {
            counts.merge(r.outcome(), 1, Integer::sum);
            sb.append("| ").append(r.template()).append(" | ").append(r.conversation()).append(" | ")
                    .append(r.outcome()).append(" | ").append(String.valueOf(r.detail()).replace("\n", " ")
                            .replace("|", "\\|")).append(" |\n");
        }
        String summary = "chat templates vs llama.cpp (" + rows.size() + " renderings): " + counts + "\n";
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target", "chat-templates-vs-llamacpp.md"), summary + "\n" + sb);
        System.out.println(summary);
        return counts;
    }
}
