package dev.metagen.cli;

import dev.metagen.core.testing.SharedData;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code metagen bench --json} on the real stories260K model: rates, runs and the resident-memory report. */
class BenchCliTest {

    @Test
    void benchJsonReportsRatesAndResidentMemory() throws Exception {
        Path stories = SharedData.stories260k();
        CliTest.Result r = CliTest.run("bench", "-m", stories.toString(), "--prompt-tokens", "8", "--gen-tokens", "4",
                "--repetitions", "2", "--threads", "1", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode j = r.json();
        assertEquals(2, j.get("prefill_runs").size());
        assertEquals(2, j.get("decode_runs").size());
        for (String runs : new String[] {"prefill_runs", "decode_runs"}) {
            j.get(runs).forEach(v -> assertTrue(v.asDouble() > 0, runs + " " + j.get(runs)));
        }
        // the reported rates are the medians of the runs it lists
        assertEquals(EfficiencyCliTest.median(j.get("prefill_runs")), j.get("prefill_tokens_per_s").asDouble(), r.out());
        assertEquals(EfficiencyCliTest.median(j.get("decode_runs")), j.get("decode_tokens_per_s").asDouble(), r.out());
        assertEquals(8, j.get("prompt_tokens").asInt());
        assertEquals(4, j.get("gen_tokens").asInt());
        assertEquals(1, j.get("threads").asInt());
        assertEquals(Files.size(stories), j.get("model_file_bytes").asLong());
        assertTrue(j.get("heap_used_bytes").asLong() > 0, r.out());
        if (Files.exists(Path.of("/proc/self/status"))) {
            long rss = j.get("resident_bytes").asLong();
            assertTrue(rss > 0, r.out());
            // file-backed and anonymous parts are parts of the whole
            assertTrue(j.get("resident_file_bytes").asLong() + j.get("resident_anon_bytes").asLong() <= rss + (1 << 20), r.out());
        }
    }

    @Test
    void procStatusParsesKilobyteFieldsAndToleratesAMissingFile(@TempDir Path dir) throws Exception {
        Path status = dir.resolve("status");
        Files.writeString(status, "Name:\tjava\nVmRSS:\t  2048 kB\nRssFile:\t 1024 kB\nThreads:\t12\nVmOdd:\t x kB\n");
        assertEquals(Map.of("VmRSS", 2048L * 1024, "RssFile", 1024L * 1024), ResidentMemory.procStatus(status));
        assertEquals(Map.of(), ResidentMemory.procStatus(dir.resolve("missing")));
    }
}
