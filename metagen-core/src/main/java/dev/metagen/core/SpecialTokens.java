package dev.metagen.core;

import java.util.Set;

/**
 * Special token ids of a vocabulary ({@code -1} when absent) and whether BOS/EOS are added on encode.
 *
 * @param endOfGeneration every id that ends generation (EOS, EOT, EOM ...)
 * @param bos the beginning-of-sequence id
 * @param eos the end-of-sequence id
 * @param unk the unknown-token id
 * @param pad the padding id
 * @param addBos whether encoding prepends BOS
 * @param addEos whether encoding appends EOS
 */
public record SpecialTokens(int bos, int eos, int unk, int pad, boolean addBos, boolean addEos,
                            Set<Integer> endOfGeneration) {
    /** Copies the end-of-generation set. */
    public SpecialTokens {
        endOfGeneration = Set.copyOf(endOfGeneration);
    }

    /**
     * Whether {@code id} ends a generation.
     *
     * @param id a token id
     * @return true for EOS and every other end-of-generation id
     */
    public boolean isEndOfGeneration(int id) {
        return endOfGeneration.contains(id);
    }
}
