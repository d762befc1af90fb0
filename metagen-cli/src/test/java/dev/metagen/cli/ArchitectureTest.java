package dev.metagen.cli;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/** Keeps the dependency arrows of docs/design.md section 3 one-way, between modules and between the packages inside them. */
class ArchitectureTest {
    private static JavaClasses main;

    @BeforeAll
    static void importMainClasses() {
        main = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.metagen");
    }

    @Test
    void coreDependsOnNothingElseOfMetagen() {
        classes().that().resideInAPackage("dev.metagen.core..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.metagen.core..", "java..")
                .check(main);
    }

    @Test
    void engineNeverImportsAlgorithmsOrFrontEnds() {
        noClasses().that().resideInAPackage("dev.metagen.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.metagen.decoding..", "dev.metagen.control..",
                        "dev.metagen.meta..", "dev.metagen.server..", "dev.metagen.cli..", "dev.metagen.client..")
                .check(main);
    }

    @Test
    void algorithmsNeverImportTheEngine() {
        noClasses().that().resideInAnyPackage("dev.metagen.decoding..", "dev.metagen.control..", "dev.metagen.meta..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.metagen.engine..", "dev.metagen.server..",
                        "dev.metagen.cli..")
                .check(main);
    }

    @Test
    void controlDependsOnlyOnCoreAndDecoding() {
        classes().that().resideInAPackage("dev.metagen.control..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.metagen.control..", "dev.metagen.core..",
                        "dev.metagen.decoding..", "java..", "com.fasterxml.jackson..")
                .check(main);
    }

    @Test
    void serverSeesNoFrontEnd() {
        // the server may use core, decoding, control, meta and engine; only the CLI sits above it
        noClasses().that().resideInAPackage("dev.metagen.server..")
                .should().dependOnClassesThat().resideInAPackage("dev.metagen.cli..")
                .check(main);
    }

    @Test
    void nothingBelowTheServerImportsIt() {
        noClasses().that().resideInAnyPackage("dev.metagen.core..", "dev.metagen.decoding..", "dev.metagen.control..",
                        "dev.metagen.meta..", "dev.metagen.engine..", "dev.metagen.client..", "dev.metagen.runtime..")
                .should().dependOnClassesThat().resideInAPackage("dev.metagen.server..")
                .check(main);
    }

    @Test
    void clientSeesOnlyCoreMetaAndJackson() {
        // the remote client speaks HTTP with the JDK's client and JSON with Jackson; meta only for RemoteLeaves,
        // the LeafFactory of spec leaves over an endpoint
        classes().that().resideInAPackage("dev.metagen.client..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.metagen.client..", "dev.metagen.core..",
                        "dev.metagen.meta..", "java..", "com.fasterxml.jackson..")
                .check(main);
    }

    @Test
    void nothingBelowTheRuntimeImportsIt() {
        noClasses().that().resideInAnyPackage("dev.metagen.core..", "dev.metagen.decoding..", "dev.metagen.control..",
                        "dev.metagen.meta..", "dev.metagen.engine..", "dev.metagen.eval..", "dev.metagen.client..")
                .should().dependOnClassesThat().resideInAPackage("dev.metagen.runtime..")
                .check(main);
    }

    @Test
    void runtimeSeesNoFrontEnd() {
        // the composition root is shared by the server and the CLI: it sits below both
        noClasses().that().resideInAPackage("dev.metagen.runtime..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.metagen.server..", "dev.metagen.cli..")
                .check(main);
    }

    @Test
    void decodingNeverImportsControl() {
        noClasses().that().resideInAPackage("dev.metagen.decoding..")
                .should().dependOnClassesThat().resideInAPackage("dev.metagen.control..")
                .check(main);
    }

    @Test
    void metaSeesOnlyCoreJacksonAndRe2j() {
        // leaf generators reach meta through its LeafFactory, filled in by the CLI (docs/design.md section 3);
        // user-supplied patterns run on RE2/J
        classes().that().resideInAPackage("dev.metagen.meta..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.metagen.core..", "dev.metagen.meta..",
                        "java..", "com.fasterxml.jackson..", "com.google.re2j..")
                .check(main);
    }

    @Test
    void evalSeesCoreMetaAndItsLibrariesOnly() {
        // the harness gets its leaf generators injected (a local model or a remote endpoint), as meta does
        classes().that().resideInAPackage("dev.metagen.eval..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("dev.metagen.core..", "dev.metagen.meta..",
                        "dev.metagen.eval..", "java..", "javax.imageio..", "com.fasterxml.jackson..", "com.networknt.schema..",
                        "org.jfree..", "com.google.re2j..")
                .check(main);
        noClasses().that().resideInAnyPackage("dev.metagen.core..", "dev.metagen.engine..", "dev.metagen.decoding..",
                        "dev.metagen.control..", "dev.metagen.meta..", "dev.metagen.server..", "dev.metagen.client..")
                .should().dependOnClassesThat().resideInAPackage("dev.metagen.eval..")
                .check(main);
    }

    @Test
    void modulesAreFreeOfCycles() {
        slices().matching("dev.metagen.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void enginePackagesAreFreeOfCycles() {
        // e.g. the GGUF reader builds tensor matrices; the tensor kernels never read files
        slices().matching("dev.metagen.engine.(*)..").should().beFreeOfCycles().check(main);
    }

    @Test
    void everyPackageIsFreeOfCycles() {
        slices().matching("dev.metagen.(**)").should().beFreeOfCycles().check(main);
    }
}
