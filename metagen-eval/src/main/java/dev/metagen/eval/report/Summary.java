package dev.metagen.eval.report;

import com.fasterxml.jackson.databind.JsonNode;
import dev.metagen.eval.task.PassAtK;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Aggregates results rows per strategy and budget: accuracy with a 95% Wilson interval, mean costs, pass@k, and
 * the sweep's reuse (generated tokens the results report vs generated tokens really computed).
 */
public record Summary(List<Point> points, long reportedGeneratedTokens, long spentGeneratedTokens) {

    public static Summary of(List<JsonNode> rows) {
        Map<String, List<JsonNode>> groups = new LinkedHashMap<>();
        for (JsonNode r : rows) {
            groups.computeIfAbsent(r.path("strategy").asText() + "\u0000" + r.path("budget").asInt(), k -> new ArrayList<>()).add(r);
        }
        List<Point> points = new ArrayList<>();
        long reported = 0;
        long spent = 0;
        for (List<JsonNode> g : groups.values()) {
            int n = g.size();
            int correct = 0;
            int errors = 0;
            double prompt = 0, gen = 0, calls = 0, tools = 0, wall = 0, spentGen = 0;
            int minSamples = Integer.MAX_VALUE;
            for (JsonNode r : g) {
                correct += r.path("correct").asBoolean() ? 1 : 0;
                errors += r.hasNonNull("error") ? 1 : 0;
                JsonNode c = r.path("cost");
                prompt += c.path("prompt_tokens").asDouble();
                gen += c.path("generated_tokens").asDouble();
                calls += c.path("model_calls").asDouble();
                tools += c.path("tool_calls").asDouble();
                wall += c.path("wall_ms").asDouble();
                spentGen += r.path("spent").path("generated_tokens").asDouble();
                minSamples = Math.min(minSamples, r.path("samples").asInt(0));
            }
            reported += (long) gen;
            spent += (long) spentGen;
            Map<Integer, Double> passAtK = new TreeMap<>();
            if (minSamples > 0 && minSamples != Integer.MAX_VALUE) {
                for (int k = 1; k <= minSamples; k *= 2) {
                    double sum = 0;
                    for (JsonNode r : g) {
                        sum += PassAtK.estimate(r.path("samples").asInt(), r.path("samples_correct").asInt(), k);
                    }
                    passAtK.put(k, sum / n);
                }
            }
            JsonNode first = g.getFirst();
            points.add(new Point(first.path("strategy").asText(), first.path("budget").asInt(), n, correct,
                    (double) correct / n, Wilson.of(correct, n, Wilson.Z95), prompt / n, gen / n, calls / n, tools / n,
                    wall / n, spentGen / n, errors, passAtK, subsampled(rows, first.path("strategy").asText(), first.path("budget").asInt())));
        }
        points.sort(Comparator.comparing(Point::strategy).thenComparingInt(Point::budget));
        return new Summary(points, reported, spent);
    }

    /**
     * Accuracy of {@code strategy} at {@code b} averaged over the b-subsets of each problem's pool of samples at the
     * strategy's largest budget; null unless it is best-of-N or majority voting with graded candidates.
     */
    static Double subsampled(List<JsonNode> rows, String strategy, int b) {
        Map<String, JsonNode> pool = new LinkedHashMap<>();
        String type = null;
        for (JsonNode r : rows) {
            if (!r.path("strategy").asText().equals(strategy)) {
                continue;
            }
            type = r.path("type").asText();
            JsonNode prior = pool.get(r.path("problem").asText());
            if (prior == null || r.path("budget").asInt() > prior.path("budget").asInt()) {
                pool.put(r.path("problem").asText(), r);
            }
        }
        if (!"best_of_n".equals(type) && !"majority_vote".equals(type) || pool.isEmpty()) {
            return null;
        }
        double sum = 0;
        for (JsonNode r : pool.values()) {
            JsonNode cands = r.path("trace").path("candidates");
            JsonNode ok = r.path("candidates_correct");
            int n = ok.size();
            if (n == 0 || cands.size() != n || n < b) {
                return null;
            }
            boolean[] correct = new boolean[n];
            double[] scores = new double[n];
            String[] answers = new String[n];
            for (int i = 0; i < n; i++) {
                correct[i] = ok.get(i).asBoolean();
                scores[i] = cands.get(i).path("score").asDouble();
                answers[i] = cands.get(i).path("answer").isTextual() ? cands.get(i).path("answer").asText() : null;
            }
            sum += type.equals("best_of_n") ? Subsampling.bestOfN(scores, correct, b)
                    : Subsampling.majorityVote(answers, correct, b, r.path("seed").asLong());
        }
        return sum / pool.size();
    }

    /** The fraction of reported generated tokens the sweep did not have to compute thanks to sample reuse. */
    public double saving() {
        return reportedGeneratedTokens == 0 ? 0 : 1 - (double) spentGeneratedTokens / reportedGeneratedTokens;
    }

    /** The points no other point beats on both mean generated tokens (lower) and accuracy (higher). */
    public List<Point> frontier() {
        List<Point> sorted = new ArrayList<>(points);
        sorted.sort(Comparator.comparingDouble(Point::meanGeneratedTokens).thenComparing(Comparator.comparingDouble(Point::accuracy).reversed()));
        List<Point> out = new ArrayList<>();
        double best = Double.NEGATIVE_INFINITY;
        for (Point p : sorted) {
            if (p.accuracy() > best) {
                out.add(p);
                best = p.accuracy();
            }
        }
        return out;
    }

    public Map<String, Object> toJson() {
        Map<String, Object> o = new LinkedHashMap<>();
        List<Map<String, Object>> ps = new ArrayList<>();
        for (Point p : points) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("strategy", p.strategy());
            m.put("budget", p.budget());
            m.put("problems", p.problems());
            m.put("correct", p.correct());
            m.put("accuracy", p.accuracy());
            m.put("ci95", List.of(p.ci().low(), p.ci().high()));
            m.put("mean_prompt_tokens", p.meanPromptTokens());
            m.put("mean_generated_tokens", p.meanGeneratedTokens());
            m.put("mean_model_calls", p.meanModelCalls());
            m.put("mean_tool_calls", p.meanToolCalls());
            m.put("mean_wall_ms", p.meanWallMs());
            m.put("mean_spent_generated_tokens", p.meanSpentGeneratedTokens());
            m.put("errors", p.errors());
            Map<String, Object> pk = new LinkedHashMap<>();
            p.passAtK().forEach((k, v) -> pk.put(Integer.toString(k), v));
            m.put("pass_at_k", pk);
            m.put("accuracy_subsampled", p.subsampledAccuracy());
            ps.add(m);
        }
        o.put("points", ps);
        List<Map<String, Object>> fr = new ArrayList<>();
        for (Point p : frontier()) {
            fr.add(Map.of("strategy", p.strategy(), "budget", p.budget(), "accuracy", p.accuracy(),
                    "mean_generated_tokens", p.meanGeneratedTokens()));
        }
        o.put("frontier", fr);
        Map<String, Object> reuse = new LinkedHashMap<>();
        reuse.put("reported_generated_tokens", reportedGeneratedTokens);
        reuse.put("spent_generated_tokens", spentGeneratedTokens);
        reuse.put("saving", saving());
        o.put("sample_reuse", reuse);
        return o;
    }
}
