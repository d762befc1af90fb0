/**
 * Hugging Face {@code tokenizer.json} files: {@link dev.metagen.engine.tokenizer.HfTokenizer} (BPE with the file's
 * normalizers, pre-tokenizers, post-processor, decoders and added tokens, matching the {@code tokenizers} library),
 * loaded with {@code tokenizer_config.json} by {@link dev.metagen.engine.tokenizer.HfTokenizerFiles}.
 *
 * <p>Tokenizers described by GGUF metadata, matching llama.cpp ({@code src/llama-vocab.cpp}, {@code src/unicode.cpp})
 * id for id: {@link dev.metagen.engine.tokenizer.SentencePieceTokenizer} for {@code tokenizer.ggml.model = "llama"},
 * {@link dev.metagen.engine.tokenizer.ByteLevelBpeTokenizer} with a {@link dev.metagen.engine.tokenizer.PreTokenizer}
 * for {@code "gpt2"}; {@link dev.metagen.engine.tokenizer.GgufTokenizers#fromGguf} picks one.
 *
 * <p>Where we knowingly differ from llama.cpp:
 * <ul>
 *   <li>{@code decode} skips llama.cpp's {@code clean_spaces} rewrite (" ," to "," etc., on for most byte-level
 *       vocabularies), so that decoding is lossless and equals the concatenated {@code tokenBytes}. Everything else
 *       follows {@code llama_detokenize(remove_special = false, unparse_special = false)}, including dropping one
 *       leading space of the first token when the vocabulary adds a dummy prefix.</li>
 *   <li>SentencePiece byte fallback when a vocabulary has neither {@code <0xXX>} nor a one-byte token: llama.cpp
 *       throws; we emit the unknown token, or fail with a {@link dev.metagen.core.MetagenException} if there is none.</li>
 *   <li>When several tokens could be the EOT/FIM token by text, llama.cpp takes the first in hash-map order; we take
 *       the lowest id. Special tokens of equal length are tried in id order (llama.cpp's sort is unstable).</li>
 * </ul>
 * As in llama.cpp (and unlike a plain reading of the GGUF spec), a special-token id key whose value is out of range
 * (such as 4294967295) leaves the model type's default in place (SPM: BOS 1, EOS 2, UNK 0; byte-level BPE: BOS/EOS 11
 * when that id exists); defaults that are out of range are dropped (reported as -1).
 */
package dev.metagen.engine.tokenizer;
