package dev.metagen.llamacpp;

import dev.metagen.core.MetagenException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Finding the library: a configured directory without it is a one-line error naming the setting and the file. */
class LlamaLibraryLocateTest {

    @Test
    void configuredDirectoryWithoutTheLibraryIsRefused(@TempDir Path empty) {
        String before = System.getProperty(LlamaLibrary.PROPERTY);
        System.setProperty(LlamaLibrary.PROPERTY, empty.toString());
        try {
            MetagenException e = assertThrows(MetagenException.class, LlamaLibrary::locate);
            assertTrue(e.getMessage().startsWith("-D" + LlamaLibrary.PROPERTY + "=" + empty), e.getMessage());
            assertTrue(e.getMessage().contains(LlamaLibrary.LIBRARY_FILE), e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
            assertFalse(LlamaCppModel.libraryAvailable());
        } finally {
            if (before == null) {
                System.clearProperty(LlamaLibrary.PROPERTY);
            } else {
                System.setProperty(LlamaLibrary.PROPERTY, before);
            }
        }
    }
}
