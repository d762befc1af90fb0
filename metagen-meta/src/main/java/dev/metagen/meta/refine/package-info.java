/** Refinement (Welleck et al., 2024, section 4.4): revise a candidate with feedback from the model itself or from outside. */
package dev.metagen.meta.refine;
