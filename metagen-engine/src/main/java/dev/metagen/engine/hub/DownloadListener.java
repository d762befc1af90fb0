package dev.metagen.engine.hub;

/** Progress of a model download, so a front end can draw a progress bar without the engine depending on one. */
public interface DownloadListener {

    /** A listener that ignores everything. */
    DownloadListener NONE = new DownloadListener() {
        @Override
        public void onStart(long totalBytes) {}

        @Override
        public void onProgress(long bytesSoFar) {}

        @Override
        public void onDone() {}
    };

    /** A download begins; {@code totalBytes} is -1 when the server does not say. */
    void onStart(long totalBytes);

    /** {@code bytesSoFar} bytes have arrived (cumulative, non-decreasing). */
    void onProgress(long bytesSoFar);

    /** The file was downloaded, verified and moved into the cache (not called when the download fails). */
    void onDone();
}
