/** Parallel meta-generation (Welleck et al., 2024, section 4.2): sample N candidates concurrently, then select or aggregate. */
package dev.metagen.meta.parallel;
