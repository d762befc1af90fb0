package dev.metagen.cli;

import dev.metagen.engine.hub.DownloadListener;
import dev.metagen.engine.hub.ModelResolver;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.nio.file.Path;

/** Turns a model argument into a local file: a path as is, {@code hf:...} through the cache (downloading with a progress bar). */
final class ModelResolution {
    private ModelResolution() {}

    static Path resolve(String spec) {
        ModelResolver resolver = ModelResolver.fromEnvironment();
        ProgressBarListener progress = new ProgressBarListener(spec);
        try {
            return resolver.resolve(spec, progress);
        } finally {
            progress.onDone(); // ends the bar's line before any error message
        }
    }

    /** Draws the download on stderr. */
    private static final class ProgressBarListener implements DownloadListener {
        private final String name;
        private ProgressBar bar;

        ProgressBarListener(String name) {
            this.name = name;
        }

        @Override
        public void onStart(long totalBytes) {
            bar = new ProgressBarBuilder().setTaskName("download " + name).setInitialMax(totalBytes)
                    .setUnit(" MiB", 1 << 20).setStyle(ProgressBarStyle.ASCII).continuousUpdate().build();
        }

        @Override
        public void onProgress(long bytesSoFar) {
            if (bar != null) {
                bar.stepTo(bytesSoFar);
            }
        }

        @Override
        public void onDone() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
