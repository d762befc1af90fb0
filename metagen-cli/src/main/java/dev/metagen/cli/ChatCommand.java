package dev.metagen.cli;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.chat.ChatTemplate;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.core.LanguageModel;
import dev.metagen.runtime.ModelLoader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code metagen chat}: an interactive conversation in the terminal, rendered with the model's own chat template
 * (or a plain transcript format for models without one), answers streamed token by token.
 */
@Command(name = "chat", description = {
        "Chat with a model in the terminal, using its chat template.",
        "Enter sends a message. End a line with \\ to continue it on the next line, or put \"\"\" alone on a line"
                + " to start and end a multi-line block. /reset clears the history, /exit (or end of input) quits,"
                + " Ctrl-C stops the current answer."})
final class ChatCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption model;

    @Mixin
    BackendOption backend;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"-s", "--system"}, description = "System prompt (kept when old turns are dropped).")
    String system;

    @Option(names = {"-n", "--max-tokens"}, defaultValue = "512", description = "Maximum tokens per answer (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--stop", description = "Also stop an answer at this string (repeatable); the template's end-of-turn markers always stop.")
    List<String> stop = new ArrayList<>();

    @Option(names = "--chat-template", paramLabel = "FILE", description = "Use this Jinja template file instead of the model's.")
    Path templateFile;

    @Mixin
    ThreadsOption threadsOption;

    int threads; // --threads, checked

    @Mixin
    ContextOption contextOption;

    int contextLength; // --ctx, checked

    @Option(names = "--stats", description = "Print token counts and speed after each answer (on stderr).")
    boolean stats;

    @Override
    public Integer call() {
        if (maxTokens < 1) {
            throw new ParameterException(spec.commandLine(), "--max-tokens must be >= 1, got " + maxTokens);
        }
        threads = threadsOption.threads(spec);
        contextLength = contextOption.contextLength(spec);
        long seed = sampling.seed != null ? sampling.seed : new java.security.SecureRandom().nextLong();
        var config = configOrUsageError(seed);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (LanguageModel m = backend.loader(spec, new ModelOptions(threads, contextLength)).load(model.single())) {
            ChatTemplate template = template(m, err);
            // the model's generation defaults fill the sampler flags not given
            var withDefaults = sampling.withModelDefaults(dev.metagen.core.GenerationParams.of(maxTokens, config), m).sampling();
            sampling.printModelDefaults(m, err);
            try (ChatSession session = new ChatSession(m, template, system, withDefaults, seed, maxTokens, stop);
                 AnswerInterrupt interrupt = AnswerInterrupt.install()) {
                err.println("chat with " + m.info().name() + " (template: " + template.name() + ", context "
                        + m.info().contextLength() + " tokens). End a line with \\ or use \"\"\" blocks for several"
                        + " lines; /reset, /exit; Ctrl-C stops an answer.");
                err.flush();
                new ChatLoop(session, new ChatInput(new BufferedReader(new InputStreamReader(System.in,
                        StandardCharsets.UTF_8))), out, err, interrupt, stats).run();
            }
        }
        return 0;
    }

    private dev.metagen.core.SamplingConfig configOrUsageError(long seed) {
        try {
            return sampling.config(seed);
        } catch (MetagenException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private ChatTemplate template(LanguageModel m, PrintWriter err) {
        if (templateFile != null) {
            String src;
            try {
                src = Files.readString(templateFile);
            } catch (IOException e) {
                throw new MetagenException("--chat-template " + templateFile + ": cannot read it (" + MetagenException.describe(e) + ")");
            }
            return ModelLoader.chatTemplate(m, templateFile.getFileName().toString(), src);
        }
        ChatTemplate t = ModelLoader.chatTemplate(m);
        if (t.isFallback()) {
            err.println("note: " + m.info().name() + " has no chat template (" + ChatTemplate.GGUF_KEY
                    + "); using a plain transcript: \"System: ...\", \"User: ...\", \"Assistant: ...\"");
        }
        return t;
    }
}
