package dev.metagen.engine.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads the JSON files of a Hugging Face model directory (untrusted input: size-capped, one-line errors). */
final class HfJson {
    /** The largest JSON file read (tokenizer.json of a 256K-token vocabulary is about 20 MB). */
    static final long MAX_BYTES = 256L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private HfJson() {}

    /** The JSON object in {@code file}, or null when the file does not exist. */
    static JsonNode readOptional(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        return read(file);
    }

    /** The JSON object in {@code file}. */
    static JsonNode read(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw bad(file, "is " + size + " bytes, over the " + MAX_BYTES + "-byte limit for a JSON file");
            }
            JsonNode n = JSON.readTree(Files.readAllBytes(file));
            if (n == null || !n.isObject()) {
                throw bad(file, "is not a JSON object");
            }
            return n;
        } catch (NoSuchFileException e) {
            throw new MetagenException(file + " not found");
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            String m = e.getOriginalMessage();
            throw bad(file, "is not valid JSON: " + (m == null ? "" : m));
        } catch (IOException e) {
            throw new MetagenException("cannot read " + file + ": " + MetagenException.describe(e), e);
        }
    }

    static GgufFormatException bad(Path file, String problem) {
        return new GgufFormatException(file + ": " + GgufFile.oneLine(problem));
    }
}
