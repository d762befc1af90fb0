package dev.metagen.spark;

import dev.metagen.core.GenerationParams;
import dev.metagen.core.testing.SharedData;
import dev.metagen.eval.ClusterRunner;
import dev.metagen.eval.Evaluation;
import dev.metagen.eval.sweep.SweepListener;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A standalone Spark cluster on 127.0.0.1 (a master and two workers, started with Spark's own classes in processes of
 * their own): a sweep runs on it, one worker and its executor are killed after the first partitions have come back,
 * Spark recomputes the lost partitions on the other worker, and the results still equal the local run's.
 */
class StandaloneClusterTest {
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The test class path, as surefire gives it (its own java.class.path is a manifest-only jar). */
    static List<String> classPath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        return List.of(cp.split(File.pathSeparator));
    }

    /** A Spark home whose {@code jars} folder links the test's jars, as a Spark distribution's would hold them. */
    static Path sparkHome(Path dir) throws IOException {
        Path jars = Files.createDirectories(dir.resolve("jars"));
        for (String e : classPath()) {
            Path p = Path.of(e);
            if (e.endsWith(".jar") && Files.isRegularFile(p) && !Files.exists(jars.resolve(p.getFileName()))) {
                Files.createSymbolicLink(jars.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        return dir;
    }

    static List<String> jvm(String mainClass) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "-Xmx512m"));
        cmd.addAll(List.of(System.getProperty("metagen.spark.java.options", "").split(" ")).stream().filter(s -> !s.isBlank()).toList());
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, classPath()), mainClass));
        return cmd;
    }

    static Process start(Path home, Path log, List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", home.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        return pb.start();
    }

    static void awaitPort(int port, Process p, Path log) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < end) {
            assertTrue(p.isAlive(), () -> "exited early: " + tail(log));
            try (Socket s = new Socket("127.0.0.1", port)) {
                return;
            } catch (IOException notYet) {
                Thread.sleep(200);
            }
        }
        throw new AssertionError("nothing listens on " + port + ": " + tail(log));
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return e.toString();
        }
    }

    static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    @Test
    void aSweepSurvivesALostWorkerAndEqualsTheLocalRun(@TempDir Path dir) throws Exception {
        Path home = sparkHome(dir.resolve("spark-home"));
        Path dataset = SparkEvaluationTest.writeDataset(dir.resolve("lexical.jsonl"), 6);
        var models = new ClusterRunner.Models(SharedData.stories260k().toString(), Map.of(), "pure-java", 1, 256);
        GenerationParams params = new GenerationParams(10, 1.0, 0, 1.0, 0, true, List.of());
        List<String> strategies = List.of(SparkEvaluationTest.VOTE, SparkEvaluationTest.GREEDY);
        Evaluation.Options local = new Evaluation.Options(dataset, "lexical", null, strategies, List.of(1, 2), null,
                dir.resolve("local"), 3, false, params, "stories260K", 1, true);
        Evaluation.run(Evaluation.plan(local), WorkerModels.leaves(models), SweepListener.NONE);

        int masterPort = freePort();
        List<Process> processes = new ArrayList<>();
        SparkSession spark = null;
        try {
            List<String> master = jvm("org.apache.spark.deploy.master.Master");
            master.addAll(List.of("--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(freePort())));
            Process m = start(home, dir.resolve("master.log"), master);
            processes.add(m);
            awaitPort(masterPort, m, dir.resolve("master.log"));
            List<Process> workers = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                List<String> worker = jvm("org.apache.spark.deploy.worker.Worker");
                worker.addAll(List.of("--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", String.valueOf(freePort()),
                        "--work-dir", dir.resolve("work" + w).toString(), "spark://127.0.0.1:" + masterPort));
                Process p = start(home, dir.resolve("worker" + w + ".log"), worker);
                processes.add(p);
                workers.add(p);
            }
            List<String> classDirs = classPath().stream().filter(e -> !e.endsWith(".jar")).toList();
            spark = SparkSession.builder().master("spark://127.0.0.1:" + masterPort).appName("metagen-cluster-test")
                    .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                    .config("spark.executor.memory", "768m").config("spark.cores.max", "2")
                    .config("spark.executor.extraClassPath", String.join(File.pathSeparator, classDirs))
                    .config("spark.executor.extraJavaOptions", "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED")
                    .config("spark.task.maxFailures", "4").getOrCreate();
            AtomicInteger finished = new AtomicInteger();
            SweepListener counting = new SweepListener() {
                @Override
                public void finished(Map<String, Object> row, int problemsDone, long generatedTokens) {
                    finished.incrementAndGet();
                }
            };
            Evaluation.Options onCluster = new Evaluation.Options(dataset, "lexical", null, strategies, List.of(1, 2), null,
                    dir.resolve("cluster"), 3, false, params, "stories260K", 1, true);
            SparkSession session = spark;
            CompletableFuture<Evaluation.Result> run = CompletableFuture.supplyAsync(
                    () -> SparkEvaluation.run(Evaluation.plan(onCluster), models, session, 6, counting));
            // kill a worker (and its executor) once the first partitions are back and the rest are in flight
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            while (finished.get() == 0 && !run.isDone() && System.nanoTime() < end) {
                Thread.sleep(100);
            }
            assertTrue(finished.get() > 0 && !run.isDone(), "the sweep ended or never progressed before the kill: " + finished.get());
            kill(workers.getFirst());
            Evaluation.Result r = run.get(300, TimeUnit.SECONDS);
            assertEquals(6 * 3, r.totals().runs());
            SparkEvaluationTest.assertSameRuns(SparkEvaluationTest.byRun(dir.resolve("local")), SparkEvaluationTest.byRun(dir.resolve("cluster")));
            assertTrue(tail(dir.resolve("worker1.log")).length() > 0);
        } finally {
            if (spark != null) {
                spark.stop();
            }
            processes.forEach(StandaloneClusterTest::kill);
        }
    }
}
