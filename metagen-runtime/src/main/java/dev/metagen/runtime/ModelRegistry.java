package dev.metagen.runtime;

import dev.metagen.core.LanguageModel;
import dev.metagen.core.MetagenException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The models of a run by name ({@code --model NAME=REF}, repeatable; the unnamed one is {@value #DEFAULT}): any leaf,
 * scorer, judge, critic, cascade stage or guidance adapter of a strategy may say {@code "model": "NAME"}. Models are
 * loaded on first use with the front end's loader and closed with the registry; a reference that is not a name
 * (a model path) is loaded the same way, once.
 */
public final class ModelRegistry implements AutoCloseable {
    public static final String DEFAULT = "default";

    private final Map<String, String> refs;
    private final Function<String, LanguageModel> loader;
    private final Map<String, LanguageModel> loaded = new LinkedHashMap<>();
    private final List<LanguageModel> owned = new ArrayList<>();

    /**
     * @param refs   name to reference (a path or {@code hf:} reference the loader understands)
     * @param loader opens a reference; the registry closes what it opened
     */
    public ModelRegistry(Map<String, String> refs, Function<String, LanguageModel> loader) {
        this.refs = Map.copyOf(refs);
        this.loader = loader;
    }

    /** A registry of one model already loaded (its caller closes it), as {@value #DEFAULT}; other references are refused. */
    public static ModelRegistry of(LanguageModel model) {
        ModelRegistry r = new ModelRegistry(Map.of(), ref -> {
            throw new MetagenException("unknown model '" + ref + "': only the default model is loaded here");
        });
        r.loaded.put(DEFAULT, model);
        return r;
    }

    /** A registry with {@code model} as {@value #DEFAULT} (closed by the caller) and the named references of {@code named}. */
    public static ModelRegistry of(LanguageModel model, Map<String, String> named, Function<String, LanguageModel> loader) {
        ModelRegistry r = new ModelRegistry(named, loader);
        r.loaded.put(DEFAULT, model);
        return r;
    }

    /**
     * Parses {@code --model} values: {@code NAME=REF} names a model, a bare {@code REF} is {@value #DEFAULT}. Names are
     * letters, digits, '-', '_' and '.'; a name may be given once.
     */
    public static Map<String, String> parse(List<String> specs) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String spec : specs) {
            int eq = spec.indexOf('=');
            String name = DEFAULT;
            String ref = spec;
            if (eq > 0 && spec.substring(0, eq).matches("[A-Za-z0-9_.-]+") && !spec.substring(0, eq).contains("/")) {
                name = spec.substring(0, eq);
                ref = spec.substring(eq + 1);
            }
            if (ref.isBlank()) {
                throw new MetagenException("--model " + spec + ": the model reference is empty");
            }
            if (out.put(name, ref) != null) {
                throw new MetagenException("--model: the name '" + name + "' is given twice");
            }
        }
        return out;
    }

    /** The model named {@code nameOrRef}, or the model at that reference; loaded on first use. */
    public synchronized LanguageModel get(String nameOrRef) {
        String key = nameOrRef == null ? DEFAULT : nameOrRef;
        LanguageModel m = loaded.get(key);
        if (m != null) {
            return m;
        }
        String ref = refs.get(key);
        if (ref == null && !isReference(key)) {
            TreeSet<String> names = new TreeSet<>(refs.keySet());
            names.addAll(loaded.keySet());
            throw new MetagenException("unknown model '" + key + "' (named here: " + String.join(", ", names) + ")");
        }
        m = loader.apply(ref != null ? ref : key);
        owned.add(m);
        loaded.put(key, m);
        return m;
    }

    public LanguageModel defaultModel() {
        return get(DEFAULT);
    }

    /** The names given to this registry. */
    public synchronized java.util.Set<String> names() {
        TreeSet<String> names = new TreeSet<>(refs.keySet());
        names.addAll(loaded.keySet());
        return names;
    }

    /** Whether {@code s} reads as a model reference (a path or {@code hf:}) rather than a name. */
    public static boolean isReference(String s) {
        return s.endsWith(".gguf") || s.startsWith("hf:") || s.contains("/");
    }

    @Override
    public synchronized void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception ignored) {
                // closing releases memory maps and caches only
            }
        }
        owned.clear();
    }
}
