package dev.metagen.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ScoreHead;
import dev.metagen.runtime.ModelRegistry;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * vLLM's pooling endpoints over the served models that have a score head (reward models, rerankers):
 * {@code /score} and {@code /v1/score} ({@code text_1}, {@code text_2}: a string or a list each, paired 1:1, 1:N or
 * N:N), {@code /rerank} and {@code /v1/rerank} ({@code query}, {@code documents}, {@code top_n}), {@code /classify}
 * ({@code input}: the head's outputs as probabilities) and {@code /pooling} ({@code input}: the head's outputs at
 * every token). A pair is scored as the text {@code text_1 + text_2}, its score is the head's first output pooled at
 * the last token. {@code model} picks the served model or one named with {@code --model NAME=REF} (never a path);
 * every other field is refused. A request holds at most {@code max-n} texts, each within the model's context.
 */
final class ScoreEndpoints {
    static final Set<String> PATHS = Set.of("/score", "/v1/score", "/rerank", "/v1/rerank", "/classify", "/pooling");

    private final LanguageModel served;
    private final String servedId;
    private final ModelRegistry models;
    private final int maxInputs;

    ScoreEndpoints(LanguageModel served, String servedId, ModelRegistry models, ServerConfig config) {
        this.served = served;
        this.servedId = servedId;
        this.models = models;
        this.maxInputs = config.maxN();
    }

    /** The answer to a request on {@code path}; an {@link ApiException} (4xx) names the field at fault. */
    ObjectNode handle(String path, JsonNode body, RequestContext ctx) {
        if (!body.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object");
        }
        String kind = path.replaceFirst("^/v1", "");
        Set<String> fields = switch (kind) {
            case "/score" -> Set.of("model", "text_1", "text_2");
            case "/rerank" -> Set.of("model", "query", "documents", "top_n");
            default -> Set.of("model", "input");
        };
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!fields.contains(f)) {
                throw ApiException.invalid(f, "unknown field '" + f + "' for " + path + " (known: " + String.join(", ", new java.util.TreeSet<>(fields)) + ")");
            }
        }
        String modelName = body.hasNonNull("model") ? text(body, "model") : servedId;
        ScoreHead head = head(modelName);
        LanguageModel model = modelName.equals(servedId) ? served : models.get(modelName);
        ObjectNode out = Json.MAPPER.createObjectNode();
        long tokens = 0;
        switch (kind) {
            case "/score" -> {
                List<String> a = texts(body, "text_1");
                List<String> b = texts(body, "text_2");
                if (a.size() != 1 && a.size() != b.size()) {
                    throw ApiException.invalid("text_1", "text_1 has " + a.size() + " texts and text_2 " + b.size()
                            + ": give one text_1, or as many as text_2");
                }
                out.put("id", "score-" + UUID.randomUUID()).put("object", "list").put("created", System.currentTimeMillis() / 1000)
                        .put("model", modelName);
                ArrayNode data = out.putArray("data");
                for (int i = 0; i < b.size(); i++) {
                    int[] ids = tokens(model, a.get(a.size() == 1 ? 0 : i) + b.get(i), ctx);
                    tokens += ids.length;
                    data.addObject().put("index", i).put("object", "score").put("score", head.score(ids)[0]);
                }
            }
            case "/rerank" -> {
                String query = text(body, "query");
                List<String> docs = texts(body, "documents");
                int topN = body.has("top_n") ? integer(body, "top_n") : 0;
                record Ranked(int index, String text, double score) {
                }
                List<Ranked> ranked = new ArrayList<>();
                for (int i = 0; i < docs.size(); i++) {
                    int[] ids = tokens(model, query + docs.get(i), ctx);
                    tokens += ids.length;
                    ranked.add(new Ranked(i, docs.get(i), head.score(ids)[0]));
                }
                ranked.sort(Comparator.comparingDouble(Ranked::score).reversed());
                out.put("id", "rerank-" + UUID.randomUUID()).put("model", modelName);
                ArrayNode results = Json.MAPPER.createArrayNode();
                for (Ranked r : ranked.subList(0, topN > 0 ? Math.min(topN, ranked.size()) : ranked.size())) {
                    ObjectNode o = results.addObject().put("index", r.index());
                    o.putObject("document").put("text", r.text());
                    o.put("relevance_score", r.score());
                }
                out.putObject("usage").put("total_tokens", tokens);
                out.set("results", results);
                return out;
            }
            case "/classify" -> {
                List<String> in = texts(body, "input");
                out.put("id", "classify-" + UUID.randomUUID()).put("object", "list").put("created", System.currentTimeMillis() / 1000)
                        .put("model", modelName);
                ArrayNode data = out.putArray("data");
                for (int i = 0; i < in.size(); i++) {
                    int[] ids = tokens(model, in.get(i), ctx);
                    tokens += ids.length;
                    double[] p = probabilities(head, head.score(ids));
                    int best = 0;
                    for (int j = 1; j < p.length; j++) {
                        best = p[j] > p[best] ? j : best;
                    }
                    ObjectNode o = data.addObject().put("index", i).put("label", head.labels().get(best));
                    ArrayNode probs = o.putArray("probs");
                    for (double v : p) {
                        probs.add(v);
                    }
                    o.put("num_classes", p.length);
                }
            }
            default -> {
                List<String> in = texts(body, "input");
                out.put("id", "pool-" + UUID.randomUUID()).put("object", "list").put("created", System.currentTimeMillis() / 1000)
                        .put("model", modelName);
                ArrayNode data = out.putArray("data");
                for (int i = 0; i < in.size(); i++) {
                    int[] ids = tokens(model, in.get(i), ctx);
                    tokens += ids.length;
                    ArrayNode rows = data.addObject().put("index", i).put("object", "pooling").putArray("data");
                    for (float[] row : head.scorePositions(ids)) {
                        ArrayNode r = rows.addArray();
                        for (float v : row) {
                            r.add(v);
                        }
                    }
                }
            }
        }
        out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens).put("completion_tokens", 0);
        return out;
    }

    /** The score head of a served or named model; a 4xx naming {@code model} otherwise. */
    private ScoreHead head(String name) {
        LanguageModel m;
        if (name.equals(servedId)) {
            m = served;
        } else if (models.isNamed(name) && !models.isRemote(name)) {
            try {
                m = models.get(name);
            } catch (MetagenException e) {
                throw ApiException.invalid("model", "model '" + name + "': " + e.getMessage());
            }
        } else {
            throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
                    "no local model '" + name + "' here (served: '" + servedId + "'; others are named with --model NAME=REF)");
        }
        return m.scoreHead().orElseThrow(() -> ApiException.invalid("model", "model '" + name
                + "' has no score head (a reward model or reranker carries cls.output tensors)"));
    }

    /** The head's outputs as probabilities: as they are when the head ends in a softmax, else a sigmoid of one output or a softmax. */
    private static double[] probabilities(ScoreHead head, float[] v) {
        double[] p = new double[v.length];
        if (head.probabilities()) {
            for (int i = 0; i < v.length; i++) {
                p[i] = v[i];
            }
            return p;
        }
        if (v.length == 1) {
            p[0] = 1 / (1 + Math.exp(-v[0]));
            return p;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float x : v) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (int i = 0; i < v.length; i++) {
            p[i] = Math.exp(v[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < v.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private int[] tokens(LanguageModel model, String text, RequestContext ctx) {
        ctx.check(); // a request past its deadline or whose client left stops between texts
        int[] ids = model.tokenizer().encode(text, true, false);
        if (ids.length > model.info().contextLength()) {
            throw ApiException.invalid(null, "a text has " + ids.length + " tokens, more than the model's context of "
                    + model.info().contextLength());
        }
        return ids;
    }

    private static String text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isTextual()) {
            throw ApiException.invalid(field, "'" + field + "' must be a string");
        }
        return v.asText();
    }

    private static int integer(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw ApiException.invalid(field, "'" + field + "' must be an integer >= 0");
        }
        return v.asInt();
    }

    /** A string or a non-empty list of strings, at most max-n of them. */
    private List<String> texts(JsonNode body, String field) {
        JsonNode v = body.get(field);
        List<String> out = new ArrayList<>();
        if (v != null && v.isTextual()) {
            out.add(v.asText());
        } else if (v != null && v.isArray() && !v.isEmpty()) {
            for (JsonNode e : v) {
                if (!e.isTextual()) {
                    throw ApiException.invalid(field, "'" + field + "' must be a string or a list of strings");
                }
                out.add(e.asText());
            }
        } else {
            throw ApiException.invalid(field, "'" + field + "' must be a string or a non-empty list of strings");
        }
        if (out.size() > maxInputs) {
            throw ApiException.invalid(field, "'" + field + "' has " + out.size() + " texts; this server takes at most " + maxInputs + " (max-n)");
        }
        for (String s : out) {
            if (s.isEmpty() && !field.equals("text_1")) {
                throw ApiException.invalid(field, "'" + field + "' holds an empty text");
            }
        }
        return out;
    }
}
