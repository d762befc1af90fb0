package dev.metagen.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.metagen.core.MetagenException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tokenizer files of a Hugging Face model directory: {@code tokenizer.json} (or {@code tokenizer.json.gz}) with
 * the special tokens and chat template of {@code tokenizer_config.json} (falling back to
 * {@code special_tokens_map.json}; a {@code chat_template.jinja} file wins over the config's template).
 *
 * @param tokenizer    the tokenizer, reporting the configured BOS/EOS/PAD ids in {@code special()}
 * @param bos          the BOS id, or -1
 * @param eos          the EOS id, or -1
 * @param addBos       {@code add_bos_token} when the config has it, else whether the post-processor adds BOS
 * @param chatTemplate the Jinja chat template, or null
 */
public record HfTokenizerFiles(HfTokenizer tokenizer, int bos, int eos, boolean addBos, String chatTemplate) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Whether {@code dir} holds a {@code tokenizer.json}. */
    public static boolean isTokenizerDirectory(Path dir) {
        return Files.isDirectory(dir) && (Files.isRegularFile(dir.resolve("tokenizer.json"))
                || Files.isRegularFile(dir.resolve("tokenizer.json.gz")));
    }

    /** Loads the tokenizer files of {@code dir}. */
    public static HfTokenizerFiles load(Path dir) {
        Path json = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(json)) {
            Path gz = dir.resolve("tokenizer.json.gz");
            if (!Files.isRegularFile(gz)) {
                throw new MetagenException(dir + ": no tokenizer.json (a Hugging Face model directory needs one;"
                        + " only BPE tokenizer.json files are supported)");
            }
            json = gz;
        }
        return withConfig(dir, HfTokenizer.read(json));
    }

    /** {@code tok} with the special tokens and chat template of the config files in {@code dir}. */
    static HfTokenizerFiles withConfig(Path dir, HfTokenizer tok) {
        JsonNode config = readOptional(dir.resolve("tokenizer_config.json"));
        JsonNode map = readOptional(dir.resolve("special_tokens_map.json"));
        int bos = specialId(dir, tok, config, map, "bos_token", tok.special().bos());
        int eos = specialId(dir, tok, config, map, "eos_token", tok.special().eos());
        int pad = specialId(dir, tok, config, map, "pad_token", tok.special().pad());
        boolean addBos = tok.special().addBos();
        if (config != null && config.has("add_bos_token") && !config.get("add_bos_token").isNull()) {
            JsonNode v = config.get("add_bos_token");
            if (!v.isBoolean()) {
                throw new MetagenException(dir.resolve("tokenizer_config.json") + ": add_bos_token is not a boolean");
            }
            addBos = v.asBoolean();
        }
        return new HfTokenizerFiles(tok.withSpecialIds(bos, eos, pad), bos, eos, addBos, chatTemplate(dir, config));
    }

    private static JsonNode readOptional(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw new MetagenException(file + ": expected a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new MetagenException(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MetagenException(file + ": cannot read: " + e.getMessage());
        }
    }

    /** A special token named by text (a string or an AddedToken object with "content"), as an id. */
    private static int specialId(Path dir, HfTokenizer tok, JsonNode config, JsonNode map, String key, int fallback) {
        JsonNode v = config != null && config.has(key) ? config.get(key) : map != null ? map.get(key) : null;
        if (v == null) {
            return fallback;
        }
        if (v.isNull()) {
            return -1;
        }
        String text = v.isTextual() ? v.asText() : v.path("content").isTextual() ? v.path("content").asText() : null;
        if (text == null) {
            throw new MetagenException(dir + ": " + key + " is neither a string nor an object with \"content\"");
        }
        int id = tok.id(text);
        if (id < 0) {
            throw new MetagenException(dir + ": " + key + " '" + text + "' is not a token of tokenizer.json");
        }
        return id;
    }

    private static String chatTemplate(Path dir, JsonNode config) {
        Path jinja = dir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                return Files.readString(jinja);
            } catch (IOException e) {
                throw new MetagenException(jinja + ": cannot read: " + e.getMessage());
            }
        }
        JsonNode t = config == null ? null : config.get("chat_template");
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isTextual()) {
            return t.asText();
        }
        if (t.isArray()) {
            // named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
            JsonNode first = null;
            for (JsonNode e : t) {
                if (first == null) {
                    first = e;
                }
                if ("default".equals(e.path("name").asText())) {
                    return e.path("template").asText(null);
                }
            }
            return first == null ? null : first.path("template").asText(null);
        }
        throw new MetagenException(dir.resolve("tokenizer_config.json") + ": chat_template is neither a string nor"
                + " a list of named templates");
    }
}
