package dev.metagen.engine.synth;

import dev.metagen.core.MetagenException;
import dev.metagen.engine.gguf.GgufFile;
import dev.metagen.engine.gguf.GgufValue;
import dev.metagen.engine.gguf.GgufWriter;
import dev.metagen.engine.model.Architecture;
import dev.metagen.engine.quantize.QuantPlan;
import dev.metagen.engine.tensor.GgmlType;
import dev.metagen.engine.tensor.TypeKernel;
import dev.metagen.engine.tensor.TypeKernels;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a GGUF (llama.cpp layout and metadata) of a model with seeded random weights, for tests and benchmarks of
 * any supported architecture, shape and tensor type without downloads. Gemma norm weights are written as llama.cpp's
 * converter stores them (with Gemma's +1 already added), so they are multiplied as they are.
 *
 * <pre>{@code
 * ModelSynthesizer.builder()
 *         .preset("tiny-qwen3")            // or any of SynthSpec.PRESETS (llama, qwen2, qwen3, gemma3, phi3)
 *         .layers(4).ffn(256)              // optional shape overrides
 *         .type("Q4_K_M")                  // F32 (default), F16, BF16, Q8_0, Q4_0, ..., Q6_K, or a mix Q4_K_M / Q5_K_M
 *         .seed(1)
 *         .tokenizerFrom(Path.of("ggml-vocab-llama-spm.gguf"))  // optional; default: a built-in byte-level SPM vocab
 *         .build()
 *         .write(Path.of("model.gguf"));
 * }</pre>
 *
 * <p>Tensor types follow {@link QuantPlan} (shared with the quantizer): a single type applies to every 2-D weight
 * (like {@code llama-quantize --pure}); the mixes follow llama.cpp's {@code llama_tensor_get_type}. 1-D tensors
 * (norms, biases) stay F32.
 *
 * <p>The weights are scaled so that next-token distributions are peaked but input-dependent: a small token
 * embedding lets the (context-dependent) attention and FFN outputs dominate the residual stream, and the final norm
 * gain sets the logit spread to {@link Builder#logitScale}. Output is streamed tensor by tensor; the same
 * settings and seed give the same bytes.
 */
public final class ModelSynthesizer {
    /**
     * Token embedding entries have standard deviation {@code EMBD_SCALE / sqrt(n_embd)}, so an embedding vector has
     * norm 0.1 against residual updates of norm about sqrt(n_embd). With tied embeddings the input token's own
     * logit gets an extra {@code EMBD_SCALE * logitScale / rms(residual)}: larger embeddings make a model that
     * repeats its last token (seen at 0.05 per entry on the Qwen2.5-0.5B shape). RMS norm undoes the small scale
     * at the first layer's input.
     */
    private static final double EMBD_SCALE = 0.1;
    /** Logit standard deviation for a 512-token vocabulary; see the constructor for larger ones. */
    static final double DEFAULT_LOGIT_SCALE = 16;

    private final SynthSpec spec;
    private final String typeName;
    private final long seed;
    private final Path tokenizerFrom;
    private final String name;
    private final double logitScale;
    private final java.util.List<String> scoreLabels;
    private final Map<String, long[]> shapes = new LinkedHashMap<>();
    private final Map<String, GgmlType> types = new LinkedHashMap<>();

    private ModelSynthesizer(Builder b, SynthSpec spec) {
        this.spec = spec;
        this.typeName = b.type;
        this.seed = b.seed;
        this.tokenizerFrom = b.tokenizerFrom;
        this.scoreLabels = b.scoreLabels;
        String n = b.name != null ? b.name : "synth-" + (b.preset != null ? b.preset : spec.arch().ggufName())
                + "-" + typeName.toLowerCase(Locale.ROOT);
        // llama.cpp gives </s>, <unk>, <s> and <|endoftext|> special attributes when general.name contains "phi3"
        // or "phi-3", and fails to load a vocabulary without them, as the built-in one is
        this.name = b.name == null && b.tokenizerFrom == null ? n.replace("phi3", "phi").replace("phi-3", "phi") : n;
        // the expected gap between the two largest of V Gaussian logits is about std / sqrt(2 ln V): grow the
        // spread with the vocabulary so large vocabularies are as peaked as the 512-token test models
        this.logitScale = b.logitScale > 0 ? b.logitScale
                : DEFAULT_LOGIT_SCALE * Math.sqrt(Math.log(spec.vocab()) / Math.log(512));
        plan();
    }

    public static Builder builder() {
        return new Builder();
    }

    public SynthSpec spec() {
        return spec;
    }

    /** Tensor names in file order with their ggml types. */
    public Map<String, GgmlType> tensorTypes() {
        return Map.copyOf(types);
    }

    /** The ggml shape ({@code [cols, rows]}) of each tensor. */
    public Map<String, long[]> tensorShapes() {
        return Map.copyOf(shapes);
    }

    /** Writes the model to {@code out}. */
    public void write(Path out) {
        for (Map.Entry<String, GgmlType> e : types.entrySet()) {
            TypeKernels.of(e.getValue(), e.getKey()); // fail now, not halfway through the file, if a type has no kernel
        }
        GgufWriter w = new GgufWriter();
        String arch = spec.arch().ggufName();
        w.putString("general.architecture", arch);
        w.putString("general.name", name);
        w.putString("general.description", "metagen synthesized model with seeded random weights (seed " + seed + ")");
        w.putUInt32("general.file_type", new QuantPlan(typeName, spec.layers(), spec.tied()).fileType());
        w.putUInt32("general.quantization_version", 2);
        w.putUInt32(arch + ".context_length", spec.context());
        w.putUInt32(arch + ".embedding_length", spec.embd());
        w.putUInt32(arch + ".block_count", spec.layers());
        w.putUInt32(arch + ".feed_forward_length", spec.ffn());
        w.putUInt32(arch + ".attention.head_count", spec.heads());
        w.putUInt32(arch + ".attention.head_count_kv", spec.kvHeads());
        w.putUInt32(arch + ".attention.key_length", spec.headDim());
        w.putUInt32(arch + ".attention.value_length", spec.headDim());
        w.putUInt32(arch + ".rope.dimension_count", spec.ropeDim());
        w.putFloat32(arch + ".rope.freq_base", spec.ropeTheta());
        if (spec.arch() == Architecture.GEMMA3) {
            // as llama.cpp's converter writes Gemma 3: the local rope base, the window, the softcap when there is one
            w.putFloat32(arch + ".rope.freq_base_swa", 10000f);
            if (spec.slidingWindow() > 0) {
                w.putUInt32(arch + ".attention.sliding_window", spec.slidingWindow());
            }
            if (spec.finalSoftcap() > 0) {
                w.putFloat32(arch + ".final_logit_softcapping", spec.finalSoftcap());
            }
        }
        if (spec.longRopeContext() > 0) {
            w.putString(arch + ".rope.scaling.type", "longrope");
            w.putUInt32(arch + ".rope.scaling.original_context_length", spec.longRopeContext());
            w.putFloat32(arch + ".rope.scaling.attn_factor", spec.longRopeAttnFactor());
        }
        w.putFloat32(arch + ".attention.layer_norm_rms_epsilon", spec.rmsEps());
        w.putUInt32(arch + ".vocab_size", spec.vocab());
        if (scoreLabels != null) {
            // a reranker / reward model as llama.cpp's converter writes one: rank pooling and the head's labels
            w.putUInt32(arch + ".pooling_type", 4);
            w.put(arch + ".classifier.output_labels", GgufValue.ofArray(scoreLabels.toArray(new String[0])));
        }
        if (tokenizerFrom != null) {
            try (GgufFile t = GgufFile.open(tokenizerFrom)) {
                for (Map.Entry<String, GgufValue> e : t.metadata().entrySet()) {
                    if (e.getKey().startsWith("tokenizer.")) {
                        w.put(e.getKey(), e.getValue());
                    }
                }
                writeTensors(w, out);
            }
        } else {
            BuiltinVocab.write(w, spec.vocab());
            writeTensors(w, out);
        }
    }

    private void writeTensors(GgufWriter w, Path out) {
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            String t = e.getKey();
            long[] shape = e.getValue();
            GgmlType type = types.get(t);
            w.addTensor(t, shape, type, () -> tensorBytes(t, shape, type));
        }
        w.write(out);
    }

    /** Lays out the tensors in llama.cpp order and picks each one's type. */
    private void plan() {
        SynthSpec s = spec;
        int qDim = s.heads() * s.headDim();
        int kvDim = s.kvHeads() * s.headDim();
        add("token_embd.weight", s.embd(), s.vocab());
        boolean phi3 = s.arch() == Architecture.PHI3;
        boolean gemma3 = s.arch() == Architecture.GEMMA3;
        if (s.llama3Rope()) {
            add("rope_freqs.weight", s.headDim() / 2);
        }
        if (s.longRopeContext() > 0) {
            add("rope_factors_long.weight", s.ropeDim() / 2);
            add("rope_factors_short.weight", s.ropeDim() / 2);
        }
        for (int i = 0; i < s.layers(); i++) {
            String b = "blk." + i + ".";
            add(b + "attn_norm.weight", s.embd());
            if (phi3) {
                add(b + "attn_qkv.weight", s.embd(), qDim + 2 * kvDim);
            } else {
                add(b + "attn_q.weight", s.embd(), qDim);
                add(b + "attn_k.weight", s.embd(), kvDim);
                add(b + "attn_v.weight", s.embd(), kvDim);
            }
            if (s.arch().qkvBias) {
                add(b + "attn_q.bias", qDim);
                add(b + "attn_k.bias", kvDim);
                add(b + "attn_v.bias", kvDim);
            }
            if (s.arch().qkNorm) {
                add(b + "attn_q_norm.weight", s.headDim());
                add(b + "attn_k_norm.weight", s.headDim());
            }
            add(b + "attn_output.weight", qDim, s.embd());
            if (gemma3) {
                add(b + "post_attention_norm.weight", s.embd());
            }
            add(b + "ffn_norm.weight", s.embd());
            if (phi3) {
                add(b + "ffn_up.weight", s.embd(), 2 * s.ffn()); // gate rows, then up rows
            } else {
                add(b + "ffn_gate.weight", s.embd(), s.ffn());
                add(b + "ffn_up.weight", s.embd(), s.ffn());
            }
            add(b + "ffn_down.weight", s.ffn(), s.embd());
            if (gemma3) {
                add(b + "post_ffw_norm.weight", s.embd());
            }
        }
        add("output_norm.weight", s.embd());
        if (!s.tied()) {
            add("output.weight", s.embd(), s.vocab());
        }
        if (scoreLabels != null) {
            add("cls.output.weight", s.embd(), scoreLabels.size());
        }
        QuantPlan quant = new QuantPlan(typeName, s.layers(), s.tied());
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            types.put(e.getKey(), quant.typeFor(e.getKey(), e.getValue()));
        }
    }

    private void add(String tensor, long... shape) {
        shapes.put(tensor, shape);
    }

    /** Generates and encodes one tensor, rows in parallel; each row has its own seeded generator. */
    private byte[] tensorBytes(String tensor, long[] shape, GgmlType type) {
        int cols = Math.toIntExact(shape[0]);
        int rows = shape.length == 1 ? 1 : Math.toIntExact(shape[1]);
        long rowBytes = type.byteSize(cols);
        long total = rowBytes * rows;
        if (total > Integer.MAX_VALUE - 16) {
            throw new MetagenException("synth: tensor " + tensor + " needs " + total
                    + " bytes, more than one Java array holds; use a smaller shape or a quantized type");
        }
        byte[] out = new byte[(int) total];
        TypeKernel kernel = TypeKernels.of(type, tensor);
        long tensorSeed = mix(seed, tensor.hashCode());
        IntStream.range(0, rows).parallel().forEach(r -> {
            float[] row = new float[cols];
            fillRow(tensor, cols, r, new SplittableRandom(mix(tensorSeed, r)), row);
            byte[] q = kernel.quantize(row, 0, cols);
            System.arraycopy(q, 0, out, (int) (r * rowBytes), q.length);
        });
        return out;
    }

    /** The values of one row; the scales are chosen for peaked, input-dependent next-token distributions. */
    private void fillRow(String tensor, int cols, int row, SplittableRandom rnd, float[] out) {
        SynthSpec s = spec;
        if (tensor.equals("rope_freqs.weight")) {
            System.arraycopy(s.llama3RopeFactors(), 0, out, 0, cols);
            return;
        }
        if (tensor.startsWith("rope_factors_")) {
            System.arraycopy(s.longRopeFactors(tensor.equals("rope_factors_long.weight")), 0, out, 0, cols);
            return;
        }
        if (tensor.equals("output_norm.weight")) {
            // logit std = gain * sqrt(n_embd) * std(output row): set the gain for the requested logit spread
            double gain = logitScale / (Math.sqrt(s.embd()) * embdStd());
            for (int i = 0; i < cols; i++) {
                out[i] = (float) (gain * (0.9 + 0.2 * rnd.nextDouble()));
            }
            return;
        }
        if (tensor.endsWith("norm.weight")) {
            for (int i = 0; i < cols; i++) {
                out[i] = (float) (0.8 + 0.4 * rnd.nextDouble());
            }
            return;
        }
        double std;
        if (tensor.equals("token_embd.weight") || tensor.equals("output.weight")) {
            std = embdStd();
        } else if (tensor.endsWith(".bias")) {
            std = 0.1;
        } else {
            std = 1.0 / Math.sqrt(cols); // fan-in scaling keeps activations of order one
        }
        double a = std * Math.sqrt(3); // uniform on [-a, a] has this standard deviation
        for (int i = 0; i < cols; i++) {
            out[i] = (float) (a * (2 * rnd.nextDouble() - 1));
        }
    }

    private double embdStd() {
        return EMBD_SCALE / Math.sqrt(spec.embd());
    }

    private static long mix(long a, long b) {
        long z = a * 0x9E3779B97F4A7C15L + b;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Settings for a {@link ModelSynthesizer}; start from a preset and override what you need. */
    public static final class Builder {
        private String preset;
        private Architecture arch;
        private Integer layers;
        private Integer embd;
        private Integer heads;
        private Integer kvHeads;
        private Integer headDim;
        private Integer ffn;
        private Integer vocab;
        private Integer context;
        private Float ropeTheta;
        private Boolean tied;
        private String type = "F32";
        private long seed = 42;
        private Path tokenizerFrom;
        private String name;
        private double logitScale;
        private java.util.List<String> scoreLabels;
        private Integer slidingWindow;
        private Float finalSoftcap;

        private Builder() {}

        /**
         * Adds a score head ({@code cls.output.weight}, one row per label, rank pooling and
         * {@code classifier.output_labels}), as llama.cpp's converter writes a reranker or reward model.
         */
        public Builder scoreHead(java.util.List<String> labels) {
            if (labels == null || labels.isEmpty()) {
                throw new MetagenException("synth: a score head needs at least one label");
            }
            if (labels.stream().anyMatch(String::isBlank)) {
                throw new MetagenException("synth: score head labels must not be empty, got " + labels);
            }
            scoreLabels = java.util.List.copyOf(labels);
            return this;
        }

        /** One of {@link SynthSpec#PRESETS}. */
        public Builder preset(String preset) {
            this.preset = preset;
            return this;
        }

        /** Architecture for a shape built from overrides only (default: the preset's, else llama). */
        public Builder architecture(String name) {
            Architecture a = Architecture.byGgufName(name);
            if (a == null) {
                throw new MetagenException("synth: unsupported architecture '" + name
                        + "' (supported: llama, qwen2, qwen3, gemma3, phi3)");
            }
            this.arch = a;
            return this;
        }

        public Builder layers(int v) {
            layers = v;
            return this;
        }

        public Builder embd(int v) {
            embd = v;
            return this;
        }

        public Builder heads(int v) {
            heads = v;
            return this;
        }

        public Builder kvHeads(int v) {
            kvHeads = v;
            return this;
        }

        public Builder headDim(int v) {
            headDim = v;
            return this;
        }

        public Builder ffn(int v) {
            ffn = v;
            return this;
        }

        /** Vocabulary size of the built-in vocabulary (with {@link #tokenizerFrom} it must match that vocabulary). */
        public Builder vocab(int v) {
            vocab = v;
            return this;
        }

        public Builder context(int v) {
            context = v;
            return this;
        }

        public Builder ropeTheta(float v) {
            ropeTheta = v;
            return this;
        }

        /** gemma3: positions a sliding-window layer attends to (0 = every layer global). */
        public Builder slidingWindow(int v) {
            slidingWindow = v;
            return this;
        }

        /** gemma3: final logit softcapping, logits = cap * tanh(logits / cap) (0 = none). */
        public Builder finalLogitSoftcap(float v) {
            finalSoftcap = v;
            return this;
        }

        public Builder tiedEmbeddings(boolean v) {
            tied = v;
            return this;
        }

        public Builder type(GgmlType t) {
            return type(t.name());
        }

        /** A ggml type name (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) or Q4_K_M / Q5_K_M. */
        public Builder type(String t) {
            try {
                type = QuantPlan.canonical(t);
            } catch (MetagenException e) {
                throw new MetagenException("synth: " + MetagenException.describe(e));
            }
            return this;
        }

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** Copies every {@code tokenizer.*} key of this GGUF; the vocabulary size becomes that tokenizer's. */
        public Builder tokenizerFrom(Path gguf) {
            tokenizerFrom = gguf;
            return this;
        }

        public Builder name(String v) {
            name = v;
            return this;
        }

        /** Target standard deviation of the logits (default 16 x sqrt(ln vocab / ln 512); larger = more peaked). */
        public Builder logitScale(double v) {
            if (!(v > 0)) {
                throw new MetagenException("synth: logit scale must be > 0, got " + v);
            }
            logitScale = v;
            return this;
        }

        public ModelSynthesizer build() {
            SynthSpec base = preset != null ? SynthSpec.preset(preset) : null;
            Architecture a = arch != null ? arch : base != null ? base.arch() : Architecture.LLAMA;
            int e = or(embd, base == null ? 64 : base.embd());
            int h = or(heads, base == null ? 4 : base.heads());
            int v = or(vocab, base == null ? 512 : base.vocab());
            if (tokenizerFrom != null) {
                int n;
                try (GgufFile t = GgufFile.open(tokenizerFrom)) {
                    String[] tokens = t.getStringArray("tokenizer.ggml.tokens");
                    if (tokens == null) {
                        throw new MetagenException("synth: " + tokenizerFrom + " has no tokenizer.ggml.tokens");
                    }
                    n = tokens.length;
                }
                if (vocab != null && vocab != n) {
                    throw new MetagenException("synth: vocab " + vocab + " differs from the " + n
                            + " tokens of " + tokenizerFrom);
                }
                v = n;
            }
            boolean sameArch = base != null && base.arch() == a;
            SynthSpec spec = new SynthSpec(a, e,
                    or(layers, base == null ? 2 : base.layers()),
                    h,
                    or(kvHeads, base == null ? h : base.kvHeads()),
                    or(headDim, base != null && embd == null && heads == null ? base.headDim() : e / h),
                    or(ffn, base == null ? 4 * e : base.ffn()),
                    v,
                    or(context, base == null ? 512 : base.context()),
                    ropeTheta != null ? ropeTheta : base == null ? 10000f : base.ropeTheta(),
                    base == null ? 1e-5f : base.rmsEps(),
                    tied != null ? tied : base == null || base.tied(),
                    sameArch && base.llama3Rope(),
                    base == null ? 0 : base.llama3OrigContext(),
                    sameArch ? base.rotaryFraction() : 1f,
                    slidingWindow != null ? slidingWindow : sameArch ? base.slidingWindow() : 0,
                    finalSoftcap != null ? finalSoftcap : sameArch ? base.finalSoftcap() : 0f,
                    sameArch ? base.longRopeContext() : 0);
            return new ModelSynthesizer(this, spec);
        }

        private static int or(Integer v, int fallback) {
            return v != null ? v : fallback;
        }
    }
}
