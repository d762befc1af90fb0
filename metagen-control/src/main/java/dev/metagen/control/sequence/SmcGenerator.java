package dev.metagen.control.sequence;

import dev.metagen.control.ConstraintState;
import dev.metagen.control.TokenConstraint;
import dev.metagen.core.Cost;
import dev.metagen.core.FinishReason;
import dev.metagen.core.Generation;
import dev.metagen.core.GenerationParams;
import dev.metagen.core.Generator;
import dev.metagen.core.LanguageModel;
import dev.metagen.core.Logits;
import dev.metagen.core.MetagenException;
import dev.metagen.core.ModelState;
import dev.metagen.core.Prompt;
import dev.metagen.core.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Sequential Monte Carlo generation with a potential (twisted SMC; Lew et al. 2023 "SMC steering", Zhao et al. 2024):
 * N particles extend in lock step by sampling the model (masked by an optional token constraint); each token
 * multiplies a particle's weight by the potential's ratio (and by the mass the mask kept); every
 * {@code tokensPerStep} tokens the particles are resampled when the effective sample size drops below N/2
 * (copy-on-write forks of the model state). The returned output is drawn in proportion to the final weights.
 *
 * <p>Example:
 * <pre>{@code
 * Potential manyOs = (text, finished) -> 2.0 * text.chars().filter(c -> c == 'o').count();
 * Generator smc = new SmcGenerator(model, manyOs, 8, 2, null);   // 8 particles, resampled every 2 tokens
 * Generation g = smc.generate(Prompt.of("Once upon a time"), GenerationParams.of(24, new SamplingConfig().seed(3)));
 * }</pre>
 */
public final class SmcGenerator implements Generator {
    private final LanguageModel model;
    private final Potential potential;
    private final int particles;
    private final int tokensPerStep;
    private final TokenConstraint constraint;

    /**
     * SMC over {@code model}.
     *
     * @param model the model
     * @param potential the twist
     * @param particles the number of particles ({@code >= 1})
     * @param tokensPerStep tokens between resampling steps ({@code >= 1})
     * @param constraint a token constraint that masks every particle, or null
     */
    public SmcGenerator(LanguageModel model, Potential potential, int particles, int tokensPerStep, TokenConstraint constraint) {
        if (particles < 1 || tokensPerStep < 1) {
            throw new MetagenException("SMC needs particles >= 1 and tokens per step >= 1");
        }
        this.model = model;
        this.potential = potential;
        this.particles = particles;
        this.tokensPerStep = tokensPerStep;
        this.constraint = constraint;
    }

    private static final class Particle {
        ModelState state;
        Logits logits;
        ConstraintState cs;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        List<Integer> tokens = new ArrayList<>();
        List<Double> logprobs = new ArrayList<>();
        double logWeight;
        double lastPotential;
        boolean done;

        Particle copy() {
            Particle p = new Particle();
            p.state = state.fork();
            p.logits = logits;
            p.cs = cs;
            p.bytes.writeBytes(bytes.toByteArray());
            p.tokens = new ArrayList<>(tokens);
            p.logprobs = new ArrayList<>(logprobs);
            p.logWeight = logWeight;
            p.lastPotential = lastPotential;
            p.done = done;
            return p;
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    @Override
    public Generation generate(Prompt prompt, GenerationParams params) {
        Tokenizer tok = model.tokenizer();
        int[] promptIds = tok.encode(prompt.text(), params.addSpecial(), false);
        if (promptIds.length == 0) {
            throw new MetagenException("the prompt is empty: give some text, or let the model add BOS");
        }
        long t0 = System.nanoTime();
        SplittableRandom rnd = new SplittableRandom(params.seed());
        double temperature = params.temperature() == 0 ? 1.0 : params.temperature();
        long calls = 0;
        long generated = 0;
        int resamples = 0;
        List<Particle> ps = new ArrayList<>();
        try (ModelState base = model.newState()) {
            Logits first = model.forward(base, promptIds);
            calls++;
            for (int i = 0; i < particles; i++) {
                Particle p = new Particle();
                p.state = base.fork();
                p.logits = first;
                p.cs = constraint == null ? null : constraint.start();
                p.lastPotential = potential.logPotential("", false);
                ps.add(p);
            }
        }
        boolean cancelled = false;
        try {
            for (int step = 0; step < params.maxTokens(); step++) {
                if (Thread.currentThread().isInterrupted()) {
                    cancelled = true; // ends with the particles as they are, drawn by their weights
                    break;
                }
                List<ModelState> states = new ArrayList<>();
                List<int[]> next = new ArrayList<>();
                List<Particle> advancing = new ArrayList<>();
                for (Particle p : ps) {
                    if (p.done) {
                        continue;
                    }
                    double[] lp = p.logits.logProbabilities();
                    long[] mask = p.cs == null ? null : p.cs.allowed();
                    // proposal: the (masked) model distribution at the temperature
                    double[] w = new double[lp.length];
                    double kept = 0;
                    double sum = 0;
                    for (int t = 0; t < lp.length; t++) {
                        boolean ok = mask == null || (mask[t >>> 6] >>> (t & 63) & 1L) != 0;
                        if (ok) {
                            kept += Math.exp(lp[t]);
                            w[t] = Math.exp(lp[t] / temperature);
                            sum += w[t];
                        }
                    }
                    if (sum == 0) {
                        throw new MetagenException("no token of the vocabulary can continue the constrained output");
                    }
                    int token = draw(w, sum, rnd);
                    // target = p * 1[allowed] * exp(potential): the weight gains the mass the mask kept
                    if (mask != null) {
                        p.logWeight += Math.log(kept);
                    }
                    generated++;
                    if (tok.special().isEndOfGeneration(token)) {
                        p.done = true;
                        double fin = potential.logPotential(p.text(), true);
                        p.logWeight += fin - p.lastPotential;
                        p.lastPotential = fin;
                        continue;
                    }
                    if (p.cs != null) {
                        p.cs = p.cs.advance(token);
                    }
                    p.tokens.add(token);
                    p.logprobs.add(lp[token]);
                    p.bytes.writeBytes(tok.tokenBytes(token));
                    boolean finished = p.cs != null && p.cs.mustEnd();
                    double pot = potential.logPotential(p.text(), finished);
                    p.logWeight += pot - p.lastPotential;
                    p.lastPotential = pot;
                    if (finished || p.tokens.size() >= params.maxTokens()) {
                        p.done = true;
                        continue;
                    }
                    states.add(p.state);
                    next.add(new int[] {token});
                    advancing.add(p);
                }
                if (!states.isEmpty()) {
                    List<Logits> out = model.forward(states, next);
                    calls++;
                    for (int i = 0; i < advancing.size(); i++) {
                        advancing.get(i).logits = out.get(i);
                    }
                }
                if (ps.stream().allMatch(p -> p.done)) {
                    break;
                }
                if ((step + 1) % tokensPerStep == 0 && ess(ps) < particles / 2.0) {
                    ps = resample(ps, rnd);
                    resamples++;
                }
            }
            Particle chosen = ps.get(drawByWeight(ps, rnd));
            long total = System.nanoTime() - t0;
            Map<String, Object> trace = new LinkedHashMap<>();
            trace.put("particles", particles);
            trace.put("resamples", resamples);
            trace.put("log_weight", chosen.logWeight);
            trace.put("ess", ess(ps));
            trace.put("potential", chosen.lastPotential);
            int[] tokens = chosen.tokens.stream().mapToInt(Integer::intValue).toArray();
            double[] lps = chosen.logprobs.stream().mapToDouble(Double::doubleValue).toArray();
            FinishReason finish = cancelled ? FinishReason.CANCELLED
                    : chosen.done && tokens.length < params.maxTokens() ? FinishReason.STOP : FinishReason.LENGTH;
            Cost cost = new Cost(promptIds.length, generated, calls, 0, Duration.ofNanos(total));
            return new Generation(chosen.text(), tokens, lps, finish, cost, trace);
        } finally {
            for (Particle p : ps) {
                p.state.close();
            }
        }
    }

    /** Every particle may draw up to {@code maxTokens} tokens, and each is charged. */
    @Override
    public long maxGeneratedTokens(Prompt prompt, GenerationParams params) {
        return (long) particles * params.maxTokens();
    }

    /** The prompt's forward, then one batched forward per step but the last (the default, spelled out). */
    @Override
    public long maxModelCalls(Prompt prompt, GenerationParams params) {
        return Math.max(1, params.maxTokens());
    }

    private static int draw(double[] w, double sum, SplittableRandom rnd) {
        double u = rnd.nextDouble() * sum;
        double c = 0;
        int last = -1;
        for (int t = 0; t < w.length; t++) {
            if (w[t] > 0) {
                c += w[t];
                last = t;
                if (u < c) {
                    return t;
                }
            }
        }
        return last;
    }

    static double ess(List<Particle> ps) {
        double max = ps.stream().mapToDouble(p -> p.logWeight).max().orElse(0);
        double s = 0;
        double s2 = 0;
        for (Particle p : ps) {
            double w = Math.exp(p.logWeight - max);
            s += w;
            s2 += w * w;
        }
        return s2 == 0 ? 0 : s * s / s2;
    }

    private static int drawByWeight(List<Particle> ps, SplittableRandom rnd) {
        double max = ps.stream().mapToDouble(p -> p.logWeight).max().orElse(0);
        double[] w = new double[ps.size()];
        double sum = 0;
        for (int i = 0; i < w.length; i++) {
            w[i] = Double.isFinite(ps.get(i).logWeight) ? Math.exp(ps.get(i).logWeight - max) : 0;
            sum += w[i];
        }
        if (sum == 0) {
            return 0;
        }
        return draw(w, sum, rnd);
    }

    /** Multinomial resampling; survivors are forked, weights reset to the mean (log-sum-exp minus log N). */
    private List<Particle> resample(List<Particle> ps, SplittableRandom rnd) {
        double max = ps.stream().mapToDouble(p -> p.logWeight).max().orElse(0);
        double sum = 0;
        for (Particle p : ps) {
            sum += Math.exp(p.logWeight - max);
        }
        double mean = max + Math.log(sum / ps.size());
        List<Particle> out = new ArrayList<>();
        for (int i = 0; i < ps.size(); i++) {
            Particle c = ps.get(drawByWeight(ps, rnd)).copy();
            c.logWeight = mean;
            out.add(c);
        }
        for (Particle p : ps) {
            p.state.close();
        }
        return out;
    }

    @Override
    public String toString() {
        return "SMC(" + particles + " particles, " + tokensPerStep + " tokens per step)";
    }
}
