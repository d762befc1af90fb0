/** External tools for meta-generators (Welleck et al., 2024, section 4.5): a calculator and a sandboxed code runner. */
package dev.metagen.meta.tools;
