package dev.metagen.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.ChatMessage;
import dev.metagen.core.FinishReason;
import dev.metagen.meta.tools.ToolCallFormat;

import java.util.ArrayList;
import java.util.List;

/**
 * The assistant message of a request that declares tools: the calls read from the model's answer (or the forced
 * call it was constrained to write), with fresh ids, as {@code message.tool_calls} and {@code finish_reason:
 * "tool_calls"}; streamed as OpenAI streams them (per call: index, id, type and name with empty arguments, then the
 * arguments in pieces).
 */
final class ToolReplies {
    /** Size of the arguments pieces of a streamed call. */
    private static final int ARGUMENT_PIECE = 16;

    private ToolReplies() {
    }

    /** What a choice answered: its content (may be null) and calls (with ids). */
    record Answer(String content, List<ChatMessage.ToolCall> calls) {
    }

    static Answer answer(ToolRequest tools, String text) {
        if (!tools.callsPossible()) {
            return new Answer(text, List.of());
        }
        ToolCallFormat.Parsed p;
        if (tools.forced()) {
            // the constraint wrote {"name": ..., "arguments": {...}}; cut short by max_tokens it is left as content
            p = ToolCallFormat.forcedCall(text);
        } else {
            p = tools.format().parse(text);
        }
        List<ChatMessage.ToolCall> calls = new ArrayList<>();
        for (ChatMessage.ToolCall c : p.calls()) {
            if (!tools.parallel() && !calls.isEmpty()) {
                break;
            }
            calls.add(new ChatMessage.ToolCall(tools.format().newId(), c.name(), c.argumentsJson()));
        }
        return new Answer(calls.isEmpty() ? text : p.content(), calls);
    }

    static String finish(Answer a, FinishReason f) {
        return a.calls().isEmpty() ? Completions.finish(f) : "tool_calls";
    }

    /** Fills {@code message}'s content and tool_calls. */
    static void message(ObjectNode msg, Answer a) {
        if (a.content() == null) {
            msg.putNull("content");
        } else {
            msg.put("content", a.content());
        }
        if (!a.calls().isEmpty()) {
            ArrayNode arr = msg.putArray("tool_calls");
            for (ChatMessage.ToolCall c : a.calls()) {
                ObjectNode o = arr.addObject();
                o.put("id", c.id());
                o.put("type", "function");
                o.putObject("function").put("name", c.name()).put("arguments", c.argumentsJson());
            }
        }
    }

    /** The deltas of one choice's answer, in order: content, then per call its head and its arguments pieces. */
    static List<ObjectNode> deltas(Answer a) {
        List<ObjectNode> out = new ArrayList<>();
        if (a.content() != null && !a.content().isEmpty()) {
            out.add(Json.MAPPER.createObjectNode().put("content", a.content()));
        }
        for (int i = 0; i < a.calls().size(); i++) {
            ChatMessage.ToolCall c = a.calls().get(i);
            ObjectNode head = Json.MAPPER.createObjectNode();
            ObjectNode call = head.putArray("tool_calls").addObject();
            call.put("index", i).put("id", c.id()).put("type", "function");
            call.putObject("function").put("name", c.name()).put("arguments", "");
            out.add(head);
            String args = c.argumentsJson();
            for (int at = 0; at < args.length(); at += ARGUMENT_PIECE) {
                int end = Math.min(args.length(), at + ARGUMENT_PIECE);
                if (end < args.length() && Character.isHighSurrogate(args.charAt(end - 1))) {
                    end++; // never split a surrogate pair
                }
                ObjectNode d = Json.MAPPER.createObjectNode();
                d.putArray("tool_calls").addObject().put("index", i).putObject("function").put("arguments", args.substring(at, end));
                out.add(d);
                at = end - ARGUMENT_PIECE;
            }
        }
        return out;
    }
}
