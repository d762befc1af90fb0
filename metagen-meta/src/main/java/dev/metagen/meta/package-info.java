/**
 * Meta-generation (Welleck et al., 2024, section 4): generators that call generators, scorers and tools.
 * Every strategy extends {@link dev.metagen.meta.MetaGenerator}; inner calls go through a {@link dev.metagen.meta.Scope},
 * which adds up their {@link dev.metagen.core.Cost}, enforces the {@link dev.metagen.meta.Budget} and observes
 * {@link dev.metagen.meta.Cancellation} for the whole tree of calls.
 */
package dev.metagen.meta;
