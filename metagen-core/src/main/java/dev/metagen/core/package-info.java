/** The core SPI of metagen: generators, language models, tokenizers, scorers, costs. */
package dev.metagen.core;
