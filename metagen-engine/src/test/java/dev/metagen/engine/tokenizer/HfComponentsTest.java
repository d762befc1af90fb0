package dev.metagen.engine.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Components the conformance goldens do not reach, against the behaviour the tokenizers library documents: split
 * delimiter behaviours (its "the-final--countdown" examples), Metaspace pre-tokenizing and decoding, Digits.
 */
class HfComponentsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<String> split(HfComponents.Behavior b, String s) {
        List<String> out = new ArrayList<>();
        HfComponents.split(Pattern.compile("-"), false, b, s, out);
        return out;
    }

    @Test
    void splitBehaviours() {
        String s = "the-final--countdown";
        assertEquals(List.of("the", "final", "countdown"), split(HfComponents.Behavior.REMOVED, s));
        assertEquals(List.of("the", "-", "final", "-", "-", "countdown"), split(HfComponents.Behavior.ISOLATED, s));
        assertEquals(List.of("the-", "final-", "-", "countdown"), split(HfComponents.Behavior.MERGED_WITH_PREVIOUS, s));
        assertEquals(List.of("the", "-final", "-", "-countdown"), split(HfComponents.Behavior.MERGED_WITH_NEXT, s));
        assertEquals(List.of("the", "-", "final", "--", "countdown"), split(HfComponents.Behavior.CONTIGUOUS, s));
    }

    private static List<String> preTokenize(String json, String text, boolean first) throws Exception {
        List<String> out = new ArrayList<>();
        HfComponents.preTokenizer("test", JSON.readTree(json)).split(text, first, out);
        return out;
    }

    @Test
    void metaspaceAndDigits() throws Exception {
        String always = "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"always\", \"split\": true}";
        assertEquals(List.of("\u2581Hey", "\u2581friend!", "\u2581", "\u2581how"), preTokenize(always, "Hey friend!  how", false));
        String first = "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"first\", \"split\": false}";
        assertEquals(List.of("\u2581a\u2581b"), preTokenize(first, "a b", true));
        assertEquals(List.of("a\u2581b"), preTokenize(first, "a b", false));
        assertEquals(List.of("abc", "1", "2", "x", "3"), preTokenize("{\"type\": \"Digits\", \"individual_digits\": true}", "abc12x3", true));
        assertEquals(List.of("abc", "12", "x", "3"), preTokenize("{\"type\": \"Digits\", \"individual_digits\": false}", "abc12x3", true));

        var decoders = HfComponents.decoders("test", JSON.readTree(
                "{\"type\": \"Metaspace\", \"replacement\": \"\u2581\", \"prepend_scheme\": \"always\"}"));
        assertEquals("Hey friend!", HfComponents.decode(decoders, List.of("\u2581Hey", "\u2581friend!")));
        assertArrayEquals(" Hey".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                HfComponents.tokenBytes(decoders, "\u2581Hey"));
    }

    @Test
    void onigurumaMeaningsOfEscapes() {
        assertTrue(HfComponents.regex("t", "t", "\\h+").matcher("a1F").matches(), "\\h is a hex digit");
        assertFalse(HfComponents.regex("t", "t", "\\h").matcher(" ").matches());
        assertTrue(HfComponents.regex("t", "t", "\\\\h").matcher("\\h").matches(), "an escaped backslash, then h");
        assertTrue(HfComponents.regex("t", "t", "\\s").matcher("\u0085").matches(), "\\s is White_Space");
        assertTrue(HfComponents.regex("t", "t", "\\d").matcher("\u0663").matches(), "\\d is Nd");
        assertTrue(HfComponents.regex("t", "t", "(?i:'s)").matcher("'\u017F").matches(), "Unicode case folding");
        assertFalse(HfComponents.regex("t", "t", ".").matcher("\n").matches());
        assertTrue(HfComponents.regex("t", "t", ".").matcher("\r").matches(), ". excludes only \\n");
    }

    @Test
    void byteFallbackDecodesRunsAndReplacesInvalidBytesOneByOne() throws Exception {
        var decoders = HfComponents.decoders("test", JSON.readTree(
                "{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}]}"));
        assertEquals("a\u00e9b", HfComponents.decode(decoders, List.of("a", "<0xC3>", "<0xA9>", "b")));
        assertEquals("a\uFFFD\uFFFDb", HfComponents.decode(decoders, List.of("a", "<0xC3>", "<0x28>", "b")));
    }
}
