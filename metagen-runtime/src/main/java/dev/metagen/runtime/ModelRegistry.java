package dev.metagen.runtime;

import dev.metagen.core.Generator;
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
 * (a model path) is loaded the same way, once. A name whose reference is an http(s) URL is a remote endpoint
 * ({@link #isRemote}): a generator that the front end's endpoint factory opens, which sampling leaves call; whatever
 * needs a local model's logits (searches, guidance, drafts) is refused it.
 */
public final class ModelRegistry implements AutoCloseable {
    public static final String DEFAULT = "default";

    private final Map<String, String> refs;
    private final Function<String, LanguageModel> loader;
    private final Function<String, Generator> endpoints;
    private final Map<String, LanguageModel> loaded = new LinkedHashMap<>();
    private final List<LanguageModel> owned = new ArrayList<>();
    private final Map<String, Generator> opened = new LinkedHashMap<>();

    /**
     * @param refs   name to reference (a path or {@code hf:} reference the loader understands)
     * @param loader opens a reference; the registry closes what it opened
     */
    public ModelRegistry(Map<String, String> refs, Function<String, LanguageModel> loader) {
        this(refs, loader, null);
    }

    /**
     * @param endpoints opens a remote endpoint's reference (an http(s) URL) as a generator; null where the front end
     *                  offers none (a name given a URL is then refused). The registry closes what it opened.
     */
    public ModelRegistry(Map<String, String> refs, Function<String, LanguageModel> loader, Function<String, Generator> endpoints) {
        this.refs = Map.copyOf(refs);
        this.loader = loader;
        this.endpoints = endpoints;
        if (endpoints == null) {
            for (Map.Entry<String, String> e : this.refs.entrySet()) {
                if (isEndpointReference(e.getValue())) {
                    throw new MetagenException("--model " + e.getKey() + "=" + e.getValue() + ": remote endpoints cannot be named here");
                }
            }
        }
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
        return of(model, named, loader, null);
    }

    /** {@link #of(LanguageModel, Map, Function)} where names given an http(s) URL are remote endpoints opened by {@code endpoints}. */
    public static ModelRegistry of(LanguageModel model, Map<String, String> named, Function<String, LanguageModel> loader,
                                   Function<String, Generator> endpoints) {
        ModelRegistry r = new ModelRegistry(named, loader, endpoints);
        r.loaded.put(DEFAULT, model);
        return r;
    }

    /** True when a model reference is a remote endpoint (an http or https URL) rather than a model file. */
    public static boolean isEndpointReference(String ref) {
        return ref.startsWith("http://") || ref.startsWith("https://");
    }

    /** The names of {@code named} (as {@link #parse} returns) whose references are remote endpoints. */
    public static java.util.Set<String> remoteNames(Map<String, String> named) {
        TreeSet<String> out = new TreeSet<>();
        named.forEach((name, ref) -> {
            if (isEndpointReference(ref)) {
                out.add(name);
            }
        });
        return out;
    }

    /** True when {@code name} names a remote endpoint. */
    public boolean isRemote(String name) {
        String ref = refs.get(name);
        return ref != null && isEndpointReference(ref);
    }

    /** Whether {@code name} is a name of this registry (not a model path), loaded or not. */
    public synchronized boolean isNamed(String name) {
        return refs.containsKey(name) || loaded.containsKey(name);
    }

    /** The URL the remote endpoint {@code name} was given ({@code --model NAME=URL}). */
    public String endpointUrl(String name) {
        if (!isRemote(name)) {
            throw new MetagenException("model '" + name + "' is not a remote endpoint");
        }
        return refs.get(name);
    }

    /** The generator over the remote endpoint {@code name}, opened on first use. */
    public synchronized Generator endpoint(String name) {
        if (!isRemote(name)) {
            throw new MetagenException("model '" + name + "' is not a remote endpoint");
        }
        Generator g = opened.get(name);
        if (g == null) {
            g = endpoints.apply(refs.get(name));
            opened.put(name, g);
        }
        return g;
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
        if (isRemote(key)) {
            throw new MetagenException("model '" + key + "' is a remote endpoint: it serves sample, greedy and constrained"
                    + " leaves; this needs a local model's logits");
        }
        if (isEndpointReference(key)) {
            throw new MetagenException("a remote endpoint must be named (--model NAME=" + key + ") and serves sample, greedy and constrained leaves only");
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

    /** Whether {@code s} reads as a model reference (a path, {@code hf:} or {@code llamacpp:}) rather than a name. */
    public static boolean isReference(String s) {
        return s.endsWith(".gguf") || s.startsWith("hf:") || s.startsWith(ModelLoader.LLAMACPP_PREFIX) || s.contains("/");
    }

    @Override
    public synchronized void close() {
        for (Generator g : opened.values()) {
            if (g instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing releases an HTTP client only
                }
            }
        }
        opened.clear();
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
