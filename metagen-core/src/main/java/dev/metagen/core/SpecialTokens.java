package dev.metagen.core;

import java.util.Set;

/**
 * Special token ids of a vocabulary ({@code -1} when absent) and whether BOS/EOS are added on encode.
 *
 * @param endOfGeneration every id that ends generation (EOS, EOT, EOM ...)
 */
public record SpecialTokens(int bos, int eos, int unk, int pad, boolean addBos, boolean addEos,
                            Set<Integer> endOfGeneration) {
    public SpecialTokens {
        endOfGeneration = Set.copyOf(endOfGeneration);
    }

    public boolean isEndOfGeneration(int id) {
        return endOfGeneration.contains(id);
    }
}
