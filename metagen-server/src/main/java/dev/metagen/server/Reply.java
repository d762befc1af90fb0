package dev.metagen.server;

import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The one writer of a completion's response, shared by the worker that produces it and the connection thread that
 * writes keep-alives and may give up on it (deadline, disconnect): every write is synchronized, and once the reply
 * is {@link #finish finished} later writes are dropped, so two threads never interleave or answer twice.
 *
 * <p>What a client that went away looks like to the JDK's HTTP server: nothing, until a write fails. A request body
 * is read to its end before work starts, and the exchange gives no access to the socket, so a disconnect is
 * detectable only by writing: each stream event, and a keep-alive every heartbeat (an SSE comment in a stream; for
 * a plain JSON answer, a space before the body once the 200 headers went out, which JSON parsers skip). The first
 * write after a disconnect may still succeed (it lands in the socket buffer), so it is noticed within about two
 * heartbeats. Once headers are out, a later error can no longer change the status: a stream ends with an error
 * event and {@code data: [DONE]}, a JSON answer is the error object with status 200.
 */
final class Reply {
    private final HttpExchange ex;
    private boolean headersSent;
    private boolean stream;
    private boolean kindKnown;
    private boolean finished;

    Reply(HttpExchange ex) {
        this.ex = ex;
    }

    /** Says whether the reply is an event stream (once the request is parsed); keep-alives start only then. */
    synchronized void kind(boolean eventStream) {
        stream = eventStream;
        kindKnown = true;
    }

    synchronized boolean isFinished() {
        return finished;
    }

    /** Sends a whole JSON body with {@code status} (or, after a keep-alive committed 200, just the body); finishes. */
    synchronized void json(int status, byte[] body) {
        if (finished) {
            return;
        }
        finished = true;
        try {
            if (!headersSent) {
                ex.getResponseHeaders().set("Content-Type", "application/json");
                if (status == 503) {
                    ex.getResponseHeaders().set("Retry-After", "1");
                }
                headersSent = true;
                ex.sendResponseHeaders(status, body.length);
            }
            OutputStream os = ex.getResponseBody();
            os.write(body);
            os.flush();
        } catch (IOException | RuntimeException ignored) {
            // the client went away while we answered
        }
    }

    /** Writes one SSE event, sending the stream's headers first; throws when the client is gone. */
    synchronized void event(String data) throws IOException {
        if (finished) {
            throw new IOException("the reply was already finished");
        }
        startStream();
        OutputStream os = ex.getResponseBody();
        os.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    private void startStream() throws IOException {
        if (!headersSent) {
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-cache");
            headersSent = true;
            ex.sendResponseHeaders(200, 0);
        }
    }

    /** Ends a stream with {@code data: [DONE]}; finishes. */
    synchronized void done() {
        if (finished) {
            return;
        }
        try {
            startStream();
            OutputStream os = ex.getResponseBody();
            os.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            os.flush();
        } catch (IOException | RuntimeException ignored) {
            // client gone
        }
        finished = true;
    }

    /**
     * Answers with an error: its own status while nothing was sent, else an error event and {@code [DONE]} in a
     * stream, or the error object after a keep-alive's 200. Finishes.
     */
    synchronized void error(ApiException e) {
        if (finished) {
            return;
        }
        String json = OpenAiServer.errorJson(e);
        if (stream && headersSent) {
            try {
                event(json);
            } catch (IOException ignored) {
                // client gone: done() below fails quietly too
            }
            done();
            return;
        }
        json(e.status(), json.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Writes a keep-alive; false when the write failed (the client is gone). Before the worker says what kind of
     * reply this is, or once finished, nothing is written.
     */
    synchronized boolean heartbeat() {
        if (finished || !kindKnown) {
            return true;
        }
        try {
            if (stream) {
                startStream();
                ex.getResponseBody().write(": keep-alive\n\n".getBytes(StandardCharsets.US_ASCII));
            } else {
                if (!headersSent) {
                    ex.getResponseHeaders().set("Content-Type", "application/json");
                    headersSent = true;
                    ex.sendResponseHeaders(200, 0);
                }
                ex.getResponseBody().write(' ');
            }
            ex.getResponseBody().flush();
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Drops every later write (the connection thread gave up on the request). */
    synchronized void abandon() {
        finished = true;
    }
}
