package dev.metagen.llamacpp;

import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The binding is pinned to one llama.cpp release: the library's own {@code llama_version()} must report it, and a
 * library of another release (or one without that function, as releases numbered by build have) is refused with one
 * line naming the release needed, before any of its structs is touched.
 */
class LlamaLibraryVersionTest {

    @Test
    void theReleaseAndItsDevBuildAreAccepted() {
        Path file = Path.of("libllama.so");
        LlamaLibrary.requireRelease(file, "0.5.0");
        LlamaLibrary.requireRelease(file, "0.5.0-dev");
    }

    @Test
    void otherVersionsAreRefusedNamingTheVersionNeeded() {
        Path file = Path.of("/opt/llama/libllama.so");
        for (String other : new String[] {"0.4.2", "0.5.1", "0.5.0x", "1.0.0-dev", "0.5", ""}) {
            MetagenException e = assertThrows(MetagenException.class, () -> LlamaLibrary.requireRelease(file, other));
            assertEquals("llama.cpp: " + file + " is llama.cpp " + other + "; this binding needs llama.cpp 0.5.0 (the"
                    + " release node-llama-cpp 3.22.1 ships, e.g. npm @node-llama-cpp/linux-x64@3.22.1)", e.getMessage());
        }
        MetagenException e = assertThrows(MetagenException.class, () -> LlamaLibrary.requireRelease(file, null));
        assertTrue(e.getMessage().contains("has no llama_version()"), e.getMessage());
        assertTrue(e.getMessage().contains("needs llama.cpp 0.5.0"), e.getMessage());
    }

    /** The version read from node-llama-cpp's CPU library is the release the structs were transcribed from. */
    @Test
    void theInstalledLibraryReportsTheRelease() throws Throwable {
        var dir = LlamaLibrary.locate();
        Assumptions.assumeTrue(dir.isPresent(), "llama.cpp library not installed (run ./run-tests once)");
        Path file = LlamaLibrary.libraryFile(dir.get()).orElseThrow();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = SymbolLookup.libraryLookup(file, arena).find("llama_version").orElseThrow();
            MemorySegment v = (MemorySegment) Linker.nativeLinker().downcallHandle(f, FunctionDescriptor.of(ADDRESS))
                    .invokeExact();
            String version = v.reinterpret(64).getString(0);
            assertTrue(version.equals(LlamaLibrary.RELEASE) || version.startsWith(LlamaLibrary.RELEASE + "-"), version);
        }
    }

    /**
     * A real library of another kind in place of libllama (ggml's base library, which has no llama_version) is
     * refused by {@link LlamaLibrary#open} with the one-line message, not by a crash or a missing-symbol error later.
     */
    @Test
    void aLibraryWithoutTheReleaseIsRefusedWhenOpened(@TempDir Path fake) throws Exception {
        var dir = LlamaLibrary.locate();
        Assumptions.assumeTrue(dir.isPresent(), "llama.cpp library not installed (run ./run-tests once)");
        Files.copy(dir.get().resolve("libggml-base.so"), fake.resolve("libllama.so"));
        MetagenException e = assertThrows(MetagenException.class, () -> LlamaLibrary.open(fake));
        assertEquals("llama.cpp: " + fake.resolve("libllama.so") + " is not llama.cpp 0.5.0 (it has no llama_version());"
                + " this binding needs llama.cpp 0.5.0 (the release node-llama-cpp 3.22.1 ships, e.g. npm"
                + " @node-llama-cpp/linux-x64@3.22.1)", e.getMessage());
    }

    @Test
    void gpuBuildsAndCmakeBuildsAreFound(@TempDir Path d) throws Exception {
        assertTrue(LlamaLibrary.libraryFile(d).isEmpty());
        Files.createFile(d.resolve("libllama.so"));
        assertEquals(d.resolve("libllama.so"), LlamaLibrary.libraryFile(d).orElseThrow());
        Files.createFile(d.resolve("libllama.cuda.v0.5.0.so"));
        Files.createFile(d.resolve("libllama.cuda.v0.4.0.so"));
        assertEquals(d.resolve("libllama.cuda.v0.5.0.so"), LlamaLibrary.libraryFile(d).orElseThrow());
        Files.createFile(d.resolve("libllama.v0.5.0.so"));
        assertEquals(d.resolve("libllama.v0.5.0.so"), LlamaLibrary.libraryFile(d).orElseThrow());
    }
}
