package dev.metagen.cli;

import dev.metagen.engine.model.Architecture;
import dev.metagen.engine.model.ModelOptions;
import dev.metagen.engine.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** {@code metagen synth} writes the gemma3 and phi3 presets, and refuses the gemma3 options on other architectures. */
class SynthCliTest {
    @TempDir
    Path dir;

    @Test
    void gemma3AndPhi3PresetsLoadWithTheirFeatures() {
        Path gemma = dir.resolve("g.gguf");
        CliTest.Result g = CliTest.run("synth", "--preset", "tiny-gemma3", "--sliding-window", "8",
                "--final-logit-softcap", "30", "-o", gemma.toString());
        assertEquals(0, g.exit(), g.err());
        try (TransformerModel m = TransformerModel.load(gemma, new ModelOptions(1, 64))) {
            assertEquals(Architecture.GEMMA3, m.config().arch());
            assertEquals(8, m.config().variant().slidingWindow());
            assertEquals(30f, m.config().variant().finalSoftcap());
        }
        Path phi = dir.resolve("p.gguf");
        CliTest.Result p = CliTest.run("synth", "--preset", "tiny-phi3", "-o", phi.toString());
        assertEquals(0, p.exit(), p.err());
        try (TransformerModel m = TransformerModel.load(phi, new ModelOptions(1, 64))) {
            assertEquals(Architecture.PHI3, m.config().arch());
            assertEquals(12, m.config().ropeDim());
        }
    }

    @Test
    void gemma3OptionsOnAnotherArchitectureAreRefused() {
        CliTest.Result r = CliTest.run("synth", "--preset", "tiny-llama", "--sliding-window", "8",
                "-o", dir.resolve("x.gguf").toString());
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("a sliding window needs the gemma3 architecture"), r.err());
        CliTest.Result c = CliTest.run("synth", "--arch", "qwen2", "--final-logit-softcap", "30",
                "-o", dir.resolve("y.gguf").toString());
        assertNotEquals(0, c.exit());
        assertTrue(c.err().contains("final logit softcapping needs the gemma3 architecture"), c.err());
    }
}
