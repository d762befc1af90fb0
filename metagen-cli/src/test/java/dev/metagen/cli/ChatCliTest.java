package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.MetagenException;
import dev.metagen.decoding.SamplingGenerator;
import dev.metagen.core.SamplingConfig;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import dev.metagen.engine.synth.ModelSynthesizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** {@code metagen chat} driven through stdin/stdout, and its session logic, on stories260K and a templated model. */
class ChatCliTest {
    static Path stories;
    /** A synthesized tiny llama with Phi-3's vocabulary and its tokenizer.chat_template. */
    static Path phi3Synth;
    @TempDir
    static Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        stories = SharedData.stories260k();
        phi3Synth = tmp.resolve("tiny-phi3-vocab.gguf");
        ModelSynthesizer.builder().preset("tiny-llama").context(512)
                .tokenizerFrom(SharedData.tokenizers().resolve("ggml-vocab-phi-3.gguf")).seed(3).build().write(phi3Synth);
    }

    private static ChatSession session(TransformerModel m, ChatTemplate t, String system, int maxTokens) {
        return new ChatSession(m, t, system, SamplingConfig.greedy(), 1, maxTokens, List.of());
    }

    @Test
    void chatOnStoriesUsesTheFallbackAndStreamsAnswers() {
        CliTest.Result r = CliTest.runWithInput("Once upon a time\n/reset\nThe cat\\\nsat\n/exit\n", "chat", "--model",
                stories.toString(), "--temperature", "0", "-n", "12", "--stats", "--threads", "1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("has no chat template"), r.err());
        assertTrue(r.err().contains("fallback plain transcript"), r.err());
        assertTrue(r.err().contains("(history cleared)"), r.err());
        // two answers, each followed by its statistics line
        assertEquals(2, r.err().lines().filter(l -> l.contains("prompt tokens")).count(), r.err());
        String out = r.out();
        assertTrue(out.startsWith("> "), out);
        assertEquals(4, out.split("> ", -1).length - 1, "four prompts: two messages, /reset and /exit: " + out);
        String firstAnswer = out.split("> ", -1)[1].strip();
        assertFalse(firstAnswer.isEmpty(), out);
    }

    @Test
    void greedyAnswersEqualAFreshGenerationOfTheSamePrompt() {
        try (TransformerModel m = TransformerModel.load(stories, new ModelOptions(1, 0));
             ChatSession s = session(m, ChatTemplate.fallback(), "You tell stories.", 10)) {
            ChatSession.Reply first = s.send("Once upon a time", t -> { }, () -> false);
            assertEquals(0, first.reusedTokens());
            List<ChatMessage> before = new ArrayList<>(s.messages());
            ChatSession.Reply second = s.send("Tell me about a dog", t -> { }, () -> false);
            // the KV state of the first turn is reused: at least the whole first prompt
            assertTrue(second.reusedTokens() >= first.promptTokens() - 1,
                    second.reusedTokens() + " reused of " + first.promptTokens());
            // and the answer is the one a fresh state gives on the full prompt
            before.add(ChatMessage.user("Tell me about a dog"));
            int[] ids = s.promptIds(before);
            Generation fresh = new SamplingGenerator(m)
                    .generate(ids, (new GenerationParams(10, 0, 0, 1, 1, false,
                            ChatTemplate.fallback().stopStrings())).withSampling(SamplingConfig.greedy()), t -> { });
            assertEquals(fresh.text().strip(), second.text());
        }
    }

    @Test
    void cancellationStopsTheAnswerAndKeepsThePartialText() {
        try (TransformerModel m = TransformerModel.load(stories, new ModelOptions(1, 0));
             ChatSession s = session(m, ChatTemplate.fallback(), null, 40)) {
            AnswerInterrupt interrupt = AnswerInterrupt.manual();
            interrupt.request(); // outside an answer: ignored
            interrupt.beginAnswer();
            assertFalse(interrupt.getAsBoolean());
            AtomicInteger pieces = new AtomicInteger();
            ChatSession.Reply r = s.send("Once upon a time", t -> {
                if (pieces.incrementAndGet() == 3) {
                    interrupt.request(); // what Ctrl-C does
                }
            }, interrupt);
            interrupt.endAnswer();
            assertEquals(FinishReason.CANCELLED, r.finish());
            assertEquals(3, r.generatedTokens());
            assertEquals("assistant", s.messages().getLast().role());
            assertEquals(r.text(), s.messages().getLast().content());
            // the next answer is not cancelled by the old request
            interrupt.beginAnswer();
            ChatSession.Reply next = s.send("And then?", t -> { }, interrupt);
            interrupt.endAnswer();
            assertNotEquals(FinishReason.CANCELLED, next.finish());
        }
    }

    @Test
    void oldTurnsAreDroppedToFitTheContextButTheSystemPromptStays() {
        try (TransformerModel m = TransformerModel.load(stories, new ModelOptions(1, 128));
             ChatSession s = session(m, ChatTemplate.fallback(), "Be short.", 8)) {
            int dropped = 0;
            for (int i = 0; i < 8; i++) {
                dropped += s.send("Once upon a time there was a little girl named Lily " + i, t -> { }, () -> false)
                        .droppedMessages();
            }
            assertTrue(dropped > 0, "some turns were dropped");
            assertEquals("system", s.messages().getFirst().role());
            assertEquals("Be short.", s.messages().getFirst().content());
            assertTrue(s.cachedTokens() <= 128);
            // one message larger than the context: a clear error, the history unchanged
            int size = s.messages().size();
            MetagenException e = assertThrows(MetagenException.class,
                    () -> s.send("Lily and Tom ".repeat(80), t -> { }, () -> false));
            assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
            assertEquals(size, s.messages().size());
        }
    }

    @Test
    void aModelWithARealTemplateIsRenderedWithIt() {
        try (TransformerModel m = TransformerModel.load(phi3Synth, new ModelOptions(1, 0))) {
            ChatTemplate t = ChatTemplate.forModel(m);
            assertFalse(t.isFallback());
            assertTrue(t.stopStrings().contains("<|end|>"), t.stopStrings().toString());
            try (ChatSession s = session(m, t, null, 4)) {
                ChatSession.Reply a = s.send("Hello", x -> { }, () -> false);
                // Phi-3: <s><|user|>\nHello<|end|>\n<|assistant|>\n, with <|user|> etc. as single special tokens
                int[] ids = s.promptIds(List.of(ChatMessage.user("Hello")));
                assertEquals(m.tokenizer().special().bos(), ids[0]);
                assertNotEquals(m.tokenizer().special().bos(), ids[1], "BOS once, not twice");
                assertEquals("<|user|>", m.tokenizer().tokenText(ids[1]));
                assertEquals(ids.length, a.promptTokens());
                ChatSession.Reply b = s.send("More", x -> { }, () -> false);
                assertTrue(b.reusedTokens() >= a.promptTokens() - 1, b.reusedTokens() + " of " + a.promptTokens());
            }
        }
        CliTest.Result r = CliTest.runWithInput("Hi\nHow are you?\n", "chat", "--model", phi3Synth.toString(),
                "--temperature", "0", "-n", "3", "--stats", "--system", "Be kind.");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("tokenizer.chat_template"), r.err());
        assertFalse(r.err().contains("has no chat template"), r.err());
        assertEquals(2, r.err().lines().filter(l -> l.contains("prompt tokens")).count(), r.err());
    }

    @Test
    void templateOverrideAndErrors() throws Exception {
        Path tpl = tmp.resolve("bad.jinja");
        Files.writeString(tpl, "{% for m in messages %}{{ m.content | nosuchfilter }}{% endfor %}");
        CliTest.Result r = CliTest.runWithInput("Hi\n/exit\n", "chat", "--model", stories.toString(),
                "--chat-template", tpl.toString(), "-n", "2");
        assertEquals(1, r.exit(), r.err()); // refused before the conversation starts
        assertTrue(r.err().startsWith("metagen: error: bad.jinja: unknown filter 'nosuchfilter'"), r.err());

        Path raising = tmp.resolve("raising.jinja");
        Files.writeString(raising, "{{ raise_exception('Only user messages, please') }}");
        r = CliTest.runWithInput("Hi\n", "chat", "--model", stories.toString(), "--chat-template", raising.toString());
        assertEquals(0, r.exit(), r.err()); // a template error fails the message, not the session
        assertTrue(r.err().contains("raising.jinja: the template raised an error: Only user messages, please"), r.err());

        r = CliTest.runWithInput("", "chat", "--model", stories.toString(), "--chat-template",
                tmp.resolve("missing.jinja").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("metagen: error: --chat-template"), r.err());

        r = CliTest.runWithInput("", "chat", "--model", stories.toString(), "-n", "0");
        assertEquals(2, r.exit());

        r = CliTest.runWithInput("/nonsense\n//x\n/exit\n", "chat", "--model", stories.toString(), "-n", "1",
                "--temperature", "0");
        assertEquals(0, r.exit());
        assertTrue(r.err().contains("unknown command /nonsense"), r.err());
    }

    @Test
    void aTemplateWithoutSystemRoleGetsTheSystemPromptInTheFirstUserMessage() throws Exception {
        Path shared = stories.getParent().getParent();
        String gemma = Files.readString(shared.resolve("datasets/chat-templates/google-gemma-2-2b-it.jinja"));
        ChatTemplate t = ChatTemplate.of("gemma-2", gemma, "<s>", "</s>");
        assertThrows(MetagenException.class, () -> t.render(List.of(ChatMessage.system("Be brief."),
                ChatMessage.user("Hi")), true));
        try (TransformerModel m = TransformerModel.load(stories, new ModelOptions(1, 0));
             ChatSession s = session(m, t, "Be brief.", 2)) {
            int[] ids = s.promptIds(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")));
            String text = m.tokenizer().decode(ids);
            assertTrue(text.contains("user\nBe brief.\nHi"), text);
            assertDoesNotThrow(() -> s.send("Hi", x -> { }, () -> false));
        }
    }

    @Test
    void multiLineInput() {
        ChatInput in = new ChatInput(new BufferedReader(new StringReader(
                "one\\\ntwo\n\"\"\"\nthree\n  four\n\"\"\"\nfive\nsix\\")));
        assertEquals("one\ntwo", in.next());
        assertEquals("three\n  four", in.next());
        assertEquals("five", in.next());
        assertEquals("six\n", in.next());
        assertNull(in.next());
    }
}
