package dev.metagen.cli;

import dev.metagen.core.FinishReason;
import dev.metagen.core.MetagenException;

import java.io.PrintWriter;

/**
 * The read-answer loop of {@code metagen chat}: reads messages, handles {@code /reset} and {@code /exit}, streams
 * each answer to {@code out}; notes (stopped answers, dropped history, statistics) go to {@code err}.
 */
final class ChatLoop {
    private final ChatSession session;
    private final ChatInput input;
    private final PrintWriter out;
    private final PrintWriter err;
    private final AnswerInterrupt interrupt;
    private final boolean stats;

    ChatLoop(ChatSession session, ChatInput input, PrintWriter out, PrintWriter err, AnswerInterrupt interrupt,
             boolean stats) {
        this.session = session;
        this.input = input;
        this.out = out;
        this.err = err;
        this.interrupt = interrupt;
        this.stats = stats;
    }

    void run() {
        while (true) {
            out.print("> ");
            out.flush();
            String message = input.next();
            if (message == null) {
                out.println();
                out.flush();
                return;
            }
            String command = message.strip();
            if (command.isEmpty()) {
                continue;
            }
            if (command.equals("/exit") || command.equals("/quit")) {
                return;
            }
            if (command.equals("/reset")) {
                session.reset();
                err.println("(history cleared)");
                err.flush();
                continue;
            }
            if (command.startsWith("//")) {
                message = message.substring(message.indexOf('/') + 1); // "//x" sends "/x"
            } else if (command.startsWith("/") && !command.contains(" ")) {
                err.println("unknown command " + command + " (commands: /reset, /exit; start with // to send a"
                        + " message beginning with /)");
                err.flush();
                continue;
            }
            answer(message);
        }
    }

    private void answer(String message) {
        ChatSession.Reply reply;
        interrupt.beginAnswer();
        try {
            reply = session.send(message, piece -> {
                out.print(piece);
                out.flush();
            }, interrupt);
        } catch (MetagenException e) {
            out.println();
            err.println("error: " + MetagenException.describe(e));
            err.flush();
            return;
        } finally {
            interrupt.endAnswer();
        }
        out.println();
        out.flush();
        if (reply.finish() == FinishReason.CANCELLED) {
            err.println("[answer stopped]");
        }
        if (reply.droppedMessages() > 0) {
            err.println("[dropped the " + reply.droppedMessages() + " oldest messages to fit the context]");
        }
        if (stats) {
            err.printf("[%d prompt tokens, %d reused from the last turn; %d generated, %.1f tokens/s; finish: %s]%n",
                    reply.promptTokens(), reply.reusedTokens(), reply.generatedTokens(),
                    reply.decodeTokensPerSecond(), reply.finish().apiName());
        }
        err.flush();
    }
}
