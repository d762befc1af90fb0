package dev.metagen.eval.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code results.jsonl}: one JSON object per line, appended and forced to disk line by line, so a run killed at any
 * point loses at most the line being written. Opening for a resume verifies every line: a last line without its
 * newline (the write the kill interrupted) is cut from the file and its work is redone; any complete line that is
 * not exactly one result object (two records fused on one line, trailing text, a missing field) and any second record
 * of the same problem x strategy x budget is an error naming its line number. {@link OutputLock} keeps a second run
 * from appending to the same file.
 */
public final class ResultStore implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.INDENT_OUTPUT)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS); // two objects on one line are not one result

    private final Path file;
    private final FileChannel channel;
    private final Map<String, JsonNode> done = new LinkedHashMap<>();
    private final boolean repaired;

    private ResultStore(Path file, FileChannel channel, List<JsonNode> rows, boolean repaired) {
        this.file = file;
        this.channel = channel;
        this.repaired = repaired;
        for (JsonNode r : rows) {
            done.put(key(r.path("problem").asText(), r.path("strategy").asText(), r.path("budget").asInt()), r);
        }
    }

    /** The key of one result: problem x strategy x budget. */
    public static String key(String problem, String strategy, int budget) {
        return problem + "\u0000" + strategy + "\u0000" + budget;
    }

    /** Starts a fresh file (an existing one is an error: use resume). */
    public static ResultStore create(Path file) {
        if (Files.exists(file)) {
            throw new MetagenException(file + " already exists: pass --resume to continue that run, or choose another --out");
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            return new ResultStore(file, ch, List.of(), false);
        } catch (IOException e) {
            throw new MetagenException("cannot create " + file + ": " + MetagenException.describe(e));
        }
    }

    /** Opens an existing file for appending after reading its finished results (a missing file starts empty). */
    public static ResultStore resume(Path file) {
        if (!Files.exists(file)) {
            return create(file);
        }
        try {
            byte[] bytes = Files.readAllBytes(file);
            List<JsonNode> rows = new ArrayList<>();
            Map<String, Integer> seen = new HashMap<>();
            int start = 0;
            long goodEnd = 0;
            boolean repaired = false;
            int lineNo = 0;
            while (start < bytes.length) {
                int nl = indexOf(bytes, (byte) '\n', start);
                lineNo++;
                if (nl < 0) { // the newline never made it to disk: the write a kill interrupted
                    repaired = true;
                    break;
                }
                String line = new String(bytes, start, nl - start, StandardCharsets.UTF_8);
                JsonNode node = parse(line);
                if (node == null) {
                    throw new MetagenException(file + ":" + lineNo + ": not one result object (a damaged or fused line: "
                            + preview(line) + "); not resuming");
                }
                String key = key(node.path("problem").asText(), node.path("strategy").asText(), node.path("budget").asInt());
                Integer first = seen.putIfAbsent(key, lineNo);
                if (first != null) {
                    throw new MetagenException(file + ":" + lineNo + ": duplicate result for problem '" + node.path("problem").asText()
                            + "', strategy '" + node.path("strategy").asText() + "', budget " + node.path("budget").asInt()
                            + " (first at line " + first + "); not resuming");
                }
                rows.add(node);
                goodEnd = nl + 1;
                start = nl + 1;
            }
            FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE);
            if (goodEnd < bytes.length) {
                ch.truncate(goodEnd);
                ch.force(true);
            }
            ch.position(goodEnd);
            return new ResultStore(file, ch, rows, repaired);
        } catch (IOException e) {
            throw new MetagenException("cannot read " + file + ": " + MetagenException.describe(e));
        }
    }

    private static String preview(String line) {
        String s = line.length() > 60 ? line.substring(0, 60) + "..." : line;
        return s.isBlank() ? "an empty line" : "'" + s + "'";
    }

    private static JsonNode parse(String line) {
        if (line.isBlank()) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(line);
            return n != null && n.isObject() && n.path("problem").isTextual() && n.path("strategy").isTextual()
                    && n.path("budget").isInt() ? n : null;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static int indexOf(byte[] b, byte x, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == x) {
                return i;
            }
        }
        return -1;
    }

    /** Whether opening cut off a damaged last line. */
    public boolean repaired() {
        return repaired;
    }

    public synchronized boolean isDone(String problem, String strategy, int budget) {
        return done.containsKey(key(problem, strategy, budget));
    }

    public Map<String, JsonNode> done() {
        return done;
    }

    /** Appends one result and forces it to disk before returning. */
    public synchronized void append(Map<String, Object> row) {
        try {
            JsonNode node = JSON.valueToTree(row);
            byte[] line = (JSON.writeValueAsString(node) + "\n").getBytes(StandardCharsets.UTF_8);
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            channel.force(false);
            done.put(key(node.path("problem").asText(), node.path("strategy").asText(), node.path("budget").asInt()), node);
        } catch (IOException e) {
            throw new MetagenException("cannot append to " + file + ": " + MetagenException.describe(e));
        }
    }

    /** Every result read back in file order (what the report is made from). */
    public static List<JsonNode> readAll(Path file) {
        List<JsonNode> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                JsonNode n = parse(line);
                if (n != null) {
                    out.add(n);
                }
            }
        } catch (IOException e) {
            throw new MetagenException("cannot read " + file + ": " + MetagenException.describe(e));
        }
        return out;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new MetagenException("cannot close " + file + ": " + MetagenException.describe(e));
        }
    }
}
