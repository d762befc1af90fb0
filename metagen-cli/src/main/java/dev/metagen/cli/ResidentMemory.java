package dev.metagen.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The process's memory as the kernel and the JVM see it: resident set size (VmRSS) split into file-backed pages
 * (RssFile: the memory-mapped GGUF weights, shared with the page cache and not copied) and anonymous pages
 * (RssAnon: heap, KV caches, JIT code), plus the Java heap in use. Fields of {@code /proc/self/status} are -1 where
 * that file does not exist (not Linux).
 */
record ResidentMemory(long residentBytes, long residentFileBytes, long residentAnonBytes, long heapUsedBytes) {

    static ResidentMemory now() {
        Map<String, Long> status = procStatus(Path.of("/proc/self/status"));
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        return new ResidentMemory(status.getOrDefault("VmRSS", -1L), status.getOrDefault("RssFile", -1L),
                status.getOrDefault("RssAnon", -1L), heap);
    }

    /** The {@code kB} fields of a /proc status file, in bytes; empty when it cannot be read. */
    static Map<String, Long> procStatus(Path file) {
        Map<String, Long> m = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file)) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.endsWith(" kB")) {
                    String v = line.substring(colon + 1, line.length() - 3).trim();
                    try {
                        m.put(line.substring(0, colon), Long.parseLong(v) * 1024);
                    } catch (NumberFormatException ignored) {
                        // a field that is not a plain number of kB is not one we report
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return Map.of();
        }
        return m;
    }
}
