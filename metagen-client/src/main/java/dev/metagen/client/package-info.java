/**
 * The remote client: {@link dev.metagen.client.RemoteGenerator}, a generator over any OpenAI-compatible
 * server, so meta-generators fan out over large remote models (docs/design.md section 8).
 */
package dev.metagen.client;
