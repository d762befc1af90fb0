package dev.metagen.eval.task;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads JSONL datasets row by row; every error names the file and line. */
public final class Datasets {
    static final ObjectMapper JSON = new ObjectMapper();

    private Datasets() {
    }

    /** A parsed row and its 1-based line number. */
    public record Row(int line, JsonNode node) {
        public String text(Path file, String field) {
            JsonNode v = node.get(field);
            if (v == null || v.isNull()) {
                throw new MetagenException(file + ":" + line + ": missing field '" + field + "'");
            }
            if (!v.isValueNode()) {
                throw new MetagenException(file + ":" + line + ": field '" + field + "' must be a string or number");
            }
            return v.asText();
        }

        /** The row's {@code id} (or {@code task_id}), else its 0-based index among the rows. */
        public String id(int index) {
            JsonNode v = node.has("id") ? node.get("id") : node.get("task_id");
            return v == null || v.isNull() ? Integer.toString(index) : v.asText();
        }
    }

    public static List<Row> readJsonl(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new MetagenException("dataset " + file + " does not exist");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new MetagenException("cannot read dataset " + file + ": " + MetagenException.describe(e));
        }
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) {
                continue;
            }
            JsonNode n;
            try {
                n = JSON.readTree(l);
            } catch (JsonProcessingException e) {
                throw new MetagenException(file + ":" + (i + 1) + ": not JSON: " + e.getOriginalMessage());
            }
            if (!n.isObject()) {
                throw new MetagenException(file + ":" + (i + 1) + ": each line must be a JSON object");
            }
            rows.add(new Row(i + 1, n));
        }
        if (rows.isEmpty()) {
            throw new MetagenException("dataset " + file + " has no rows");
        }
        return rows;
    }
}
