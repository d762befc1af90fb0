package dev.metagen.engine.chat;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The end-of-turn strings of the common template families, as far as a template's source mentions them. */
final class StopMarkers {
    /** Turn terminators of known families (ChatML, Llama 3, Phi, Gemma, Command-R, DeepSeek, GPT-OSS, Mistral). */
    private static final List<String> KNOWN = List.of("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>",
            "<end_of_turn>", "<|END_OF_TURN_TOKEN|>", "<｜end▁of▁sentence｜>", "<|return|>", "<|endoftext|>",
            "<|end_of_text|>", "</s>", "<turn|>", "<|im_end_of_turn|>");

    /** Where the fallback transcript's next user turn would begin. */
    static final String FALLBACK_STOP = "\nUser:";

    private StopMarkers() {
    }

    static List<String> of(String source, String eosToken, boolean fallback) {
        if (fallback) {
            return List.of(FALLBACK_STOP);
        }
        Set<String> out = new LinkedHashSet<>();
        for (String m : KNOWN) {
            if (source.contains(m)) {
                out.add(m);
            }
        }
        if (eosToken != null && !eosToken.isEmpty()) {
            out.add(eosToken);
        }
        return new ArrayList<>(out);
    }
}
