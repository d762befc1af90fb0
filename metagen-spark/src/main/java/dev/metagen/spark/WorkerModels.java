package dev.metagen.spark;

import dev.metagen.client.RemoteGenerator;
import dev.metagen.core.LanguageModel;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.llamacpp.LlamaCppOptions;
import dev.metagen.runtime.LeafGenerators;
import dev.metagen.runtime.ModelLoader;
import dev.metagen.runtime.ModelRegistry;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The models of one worker JVM: loaded on first use by a task and kept for every later task and partition of any job
 * with the same {@link ClusterRunner.Models}, so a partition pays for loading once per executor, not per row; the
 * engine's batching serves the concurrent tasks of an executor.
 */
final class WorkerModels {
    private static final Map<ClusterRunner.Models, LeafGenerators> LOADED = new ConcurrentHashMap<>();

    private WorkerModels() {
    }

    static LeafGenerators leaves(ClusterRunner.Models models) {
        return LOADED.computeIfAbsent(models, WorkerModels::load);
    }

    private static LeafGenerators load(ClusterRunner.Models m) {
        ModelOptions options = new ModelOptions(m.threads(), m.contextLength());
        LlamaCppOptions llama = LlamaCppOptions.DEFAULTS.withThreads(m.threads()).withContextLength(m.contextLength());
        // references were resolved to paths where the run started; a worker reads them as they are
        ModelLoader loader = new ModelLoader(ModelLoader.Backend.parse(m.backend()), options, llama, Path::of);
        LanguageModel model = loader.load(m.defaultRef());
        ModelRegistry registry = ModelRegistry.of(model, m.named(), loader::load, RemoteGenerator::forReference);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            registry.close();
            model.close();
        }));
        return new LeafGenerators(registry, false);
    }
}
